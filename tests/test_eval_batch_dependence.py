"""eval.batch_dependence: one call against one call per post, on the committed release and on
scoring functions whose batch dependence is known exactly."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from eval.batch_dependence import app, batch_dependence, policy_labels
from model.bundle import load_bundle
from model.labels import LABELS
from model.policy import Policy

POSTS = ["面膜买二送一，私我", "周末去爬山", "招代理，宝妈在家就能做", "今天又发了两百单", "下雨了记得带伞"]


def _by_length(texts: list[str]) -> np.ndarray:
    return np.array([[len(t), -len(t), 0.0] for t in texts])


def _minus_batch_mean(texts: list[str]) -> np.ndarray:
    """A score that depends on the batch: the post's length minus the batch's mean length."""
    lengths = np.array([len(t) for t in texts], dtype=float)
    return np.stack([lengths - lengths.mean(), np.zeros_like(lengths), np.zeros_like(lengths)], axis=1)


def _over(cuts: list[float]):
    """Logits -> the labels whose logit reaches its cut (a policy's `label` step, uncalibrated)."""
    return lambda z: [
        tuple(label for label, v, c in zip(LABELS, row, cuts, strict=True) if v >= c) for row in z
    ]


def test_a_batch_independent_score_has_no_gap_and_no_flips() -> None:
    result = batch_dependence(_by_length, _over([5.0, 0.0, 1.0]), POSTS)
    assert {k: result[k] for k in ("posts", "max_logit_gap", "p99_logit_gap", "flipped_posts")} == {
        "posts": 5,
        "max_logit_gap": 0.0,
        "p99_logit_gap": 0.0,
        "flipped_posts": 0,
    }
    assert result["posts_per_s_together"] > 0 and result["posts_per_s_alone"] > 0


def test_a_batch_dependent_score_counts_its_gaps_and_flips() -> None:
    lengths = np.array([len(t) for t in POSTS], dtype=float)
    result = batch_dependence(_minus_batch_mean, _over([0.5, 9.0, 9.0]), POSTS)
    # Alone every post scores 0; together it scores its length minus the mean.
    together = lengths - lengths.mean()
    assert result["max_logit_gap"] == pytest.approx(np.abs(together).max())
    assert result["flipped_posts"] == int((together >= 0.5).sum())
    assert 0 < result["flipped_posts"] < len(POSTS)


def test_the_release_runs_and_its_figures_are_consistent() -> None:
    bundle = load_bundle()
    policy = Policy.load(bundle.policy_path)
    result = batch_dependence(bundle.classifier.logits, policy_labels(policy), POSTS)
    assert result["posts"] == len(POSTS)
    assert 0.0 <= result["p99_logit_gap"] <= result["max_logit_gap"]
    assert 0 <= result["flipped_posts"] <= len(POSTS)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one post"):
        batch_dependence(_by_length, _over([0.0, 0.0, 0.0]), [])
    with pytest.raises(ValueError, match="one label tuple per post"):
        batch_dependence(_by_length, lambda z: [()], POSTS)
    for args, message in (
        ([], "pass --data"),
        (["--holdout", "/nonexistent.jsonl"], "no such file"),
        (["--holdout", "x.jsonl", "--posts", "0"], "--posts must be >= 1"),
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
