"""The blend formula the release build and serving share (model.text_ensemble)."""

from __future__ import annotations

import numpy as np
import pytest

from model.text_ensemble import blend_logits, check_ngram_weight


def test_blend_is_the_weighted_sum_of_the_two_logit_matrices() -> None:
    encoder = np.array([[4.0, -2.0, 0.0], [-6.0, 1.0, 3.0]], dtype=np.float32)
    ngram = np.array([[2.0, 2.0, -1.0], [0.0, -3.0, 1.0]])
    np.testing.assert_allclose(
        blend_logits(encoder, ngram, 0.25), [[3.5, -1.0, -0.25], [-4.5, 0.0, 2.5]], rtol=0, atol=1e-12
    )
    np.testing.assert_array_equal(blend_logits(encoder, ngram, 0.0), encoder)


@pytest.mark.parametrize("weight", [1.0, -0.1, True, "0.5", None, float("nan")])
def test_weights_outside_zero_to_one_are_refused(weight) -> None:
    with pytest.raises(ValueError, match=r"'ngram_weight' of here must be a number in \[0, 1\)"):
        check_ngram_weight(weight, "here")


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError, match="must have the same shape; got \\(2, 3\\) and \\(3, 3\\)"):
        blend_logits(np.zeros((2, 3)), np.zeros((3, 3)), 0.5)
