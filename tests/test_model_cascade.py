"""The cascade's routing (model.text_cascade): which posts the slow model re-scores, and with what."""

from __future__ import annotations

import numpy as np
import pytest

from model.bundle import RELEASE_DIR, load_bundle
from model.labels import LABELS
from model.text_cascade import CascadeTextClassifier, cascade_logits, check_band, check_window, escalated


def test_a_post_is_escalated_when_any_label_is_near_the_boundary() -> None:
    fast = np.array([[3.0, -4.0, -2.0], [3.0, -0.5, -2.0], [0.9, -4.0, 5.0], [-1.0, -1.0, -1.0]])
    slow = np.full_like(fast, 7.0)
    np.testing.assert_array_equal(escalated(fast, 1.0), [False, True, True, False])
    np.testing.assert_array_equal(cascade_logits(fast, slow, 1.0), [fast[0], slow[1], slow[2], fast[3]])
    # A band narrower than every logit escalates nothing; one wider than every logit, everything.
    np.testing.assert_array_equal(cascade_logits(fast, slow, 0.1), fast)
    np.testing.assert_array_equal(cascade_logits(fast, slow, 10.0), slow)
    with pytest.raises(ValueError, match="must have the same shape"):
        cascade_logits(fast, slow[:2], 1.0)


def test_a_window_per_label_routes_on_each_label_s_own_interval() -> None:
    """Below a cut is wider than above it: a post the fast model calls normal but not surely goes on."""
    fast = np.array(
        [[-2.5, -9.0, -9.0], [0.8, -9.0, -9.0], [1.2, -9.0, -9.0], [-9.0, -9.0, 0.5], [-9.0, 4.0, -9.0]]
    )
    slow = np.full_like(fast, 7.0)
    window = {"hard_sell": [-3.0, 1.0], "recruitment": [-1.0, 3.0], "fake_proof": [0.6, 2.0]}
    np.testing.assert_array_equal(escalated(fast, window), [True, True, False, False, False])
    np.testing.assert_array_equal(cascade_logits(fast, slow, window)[:, 0], [7.0, 7.0, 1.2, -9.0, -9.0])
    # A band is the window (-band, band) on every label.
    band_window = {label: [-1.0, 1.0] for label in LABELS}
    np.testing.assert_array_equal(escalated(fast, band_window), escalated(fast, 1.0))


@pytest.mark.parametrize(
    "window",
    [
        {"hard_sell": [-1.0, 1.0]},
        {label: [1.0, -1.0] for label in LABELS},
        {label: [0.0, float("inf")] for label in LABELS},
        {label: [0.0] for label in LABELS},
        {label: "ab" for label in LABELS},
        {label: [True, 2.0] for label in LABELS},
        [[-1.0, 1.0]] * 3,
    ],
)
def test_a_window_that_is_not_an_interval_per_label_is_refused(window) -> None:
    with pytest.raises(
        ValueError, match="'window' of here must be an object with hard_sell, recruitment, fake_proof"
    ):
        check_window(window, "here")


@pytest.mark.parametrize("band", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_a_band_that_is_not_a_positive_number_is_refused(band) -> None:
    with pytest.raises(ValueError, match="'band' of here must be a positive number"):
        check_band(band, "here")


def test_the_slow_model_scores_exactly_the_posts_the_fast_one_is_unsure_of() -> None:
    """The committed release's two halves when it is a cascade; otherwise the release is the fast model
    and its own encoder without the n-gram half the slow one."""
    served = load_bundle(RELEASE_DIR, intra_op_threads=1).classifier
    if isinstance(served, CascadeTextClassifier):
        fast, slow = served.fast, served.slow
    else:
        fast, slow = served, served.encoder
    posts = [
        "今天和家人去公园散步，天气很好",
        "面膜特价包邮，私聊下单",
        "招代理，宝妈在家就能做，月入过万",
        "又提新车了，感谢团队带飞",
        "周末加班，好累",
        "客户反馈又来了，回购第三次",
    ]
    alone = fast.logits(posts)
    band = float(np.sort(np.abs(alone).min(axis=1))[len(posts) // 2])  # about half escalate
    unsure = escalated(alone, band)
    assert 0 < unsure.sum() < len(posts)
    cascade = CascadeTextClassifier(fast, slow, band)
    out = cascade.logits(posts)
    np.testing.assert_allclose(out[~unsure], alone[~unsure], rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        out[unsure], slow.logits([p for p, u in zip(posts, unsure, strict=True) if u]), atol=1e-6
    )
    np.testing.assert_allclose(cascade.predict_proba(posts), 1 / (1 + np.exp(-out)), atol=1e-12)
    with pytest.raises(ValueError, match="'band' of CascadeTextClassifier must be a positive number"):
        CascadeTextClassifier(fast, slow, -1.0)
    with pytest.raises(ValueError, match=r"CascadeTextClassifier\.logits"):
        cascade.logits(["fine", None])  # type: ignore[list-item]
