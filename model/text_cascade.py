"""A two-stage text model: the fast release on every post, the slow one on the posts it is unsure of.

Why: the 4-layer student is fast enough for every post of a feed but trails the 12-layer teacher
on unseen families; the teacher is too slow to score them all. Most feed posts are plainly
normal (or plainly selling), so their fast scores are far from the 0.5 boundary; only a post
where some label's fast logit lies within ``band`` of 0 pays for the teacher. The release build
chooses both halves' n-gram weights and fits the policy on the cascade's logits, so the policy
file reads them like any model's. :func:`cascade_logits` is the one routing rule, used by the
build (on saved predictions) and by serving (:class:`CascadeTextClassifier`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.normalize import PostText, normalized
from model.text_ensemble import LogitModel
from model.tokenizer import check_texts


def check_band(band: float, where: str) -> float:
    """``band`` as a positive float, or a ValueError naming ``where``."""
    if isinstance(band, bool) or not isinstance(band, int | float) or not 0.0 < float(band) < float("inf"):
        raise ValueError(f"The 'band' of {where} must be a positive number; got {band!r} instead.")
    return float(band)


def escalated(fast_logits: np.ndarray, band: float) -> np.ndarray:
    """Rows where some label's fast logit lies strictly within ``band`` of 0 (probability 0.5)."""
    return (np.abs(np.asarray(fast_logits)) < band).any(axis=1)


def cascade_logits(fast_logits: np.ndarray, slow_logits: np.ndarray, band: float) -> np.ndarray:
    """The fast logits, with the escalated rows (all labels) taken from ``slow_logits`` instead."""
    fast_logits, slow_logits = np.asarray(fast_logits), np.asarray(slow_logits)
    if fast_logits.shape != slow_logits.shape:
        raise ValueError(
            "The 'fast_logits' and 'slow_logits' parameters of cascade_logits must have the same shape;"
            f" got {fast_logits.shape} and {slow_logits.shape} instead."
        )
    return np.where(escalated(fast_logits, band)[:, None], slow_logits, fast_logits)


class CascadeTextClassifier:
    """Fast model on every post, slow model on the rows :func:`escalated` picks; one classifier's contract."""

    def __init__(self, fast: LogitModel, slow: LogitModel, band: float) -> None:
        self.fast, self.slow = fast, slow
        self.band = check_band(band, "CascadeTextClassifier")

    def logits(self, texts: Sequence[PostText]) -> np.ndarray:
        """Logits ``(n, len(LABELS))`` in the order of ``texts``; each post is normalized once for both."""
        check_texts(texts, "CascadeTextClassifier.logits")
        posts = [normalized(t) for t in texts]
        out = np.array(self.fast.logits(posts), dtype=np.float64)
        rows = np.flatnonzero(escalated(out, self.band))
        if len(rows):
            out[rows] = self.slow.logits([posts[i] for i in rows])
        return out

    def predict_proba(self, texts: Sequence[PostText]) -> np.ndarray:
        """Per-label probabilities (sigmoid of the cascade's logits), columns in ``LABELS`` order."""
        return 1.0 / (1.0 + np.exp(-self.logits(texts)))
