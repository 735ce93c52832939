"""The released text model: the encoder's logits blended with the n-gram model's.

Why two models: the fine-tuned encoder generalizes to phrasings it never saw, while the
character n-grams keep the exact selling phrases (a sold-out claim, an income figure) that a
pooled sentence vector blurs. Their errors differ, so a weighted sum of their logits scored
better than either on every held-out split (train/RELEASES.md, "Why a blend"). The weight is chosen by the
release build on the selection sets and stored in the release manifest; calibration and
thresholds are then fitted on the blended logits, so the policy file reads them like any
model's. :func:`blend_logits` is the one formula, used by the build and by serving.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from model.ngram_model import NgramModel
from model.normalize import PostText, normalized
from model.tokenizer import check_texts


class LogitModel(Protocol):
    """Anything that maps posts (raw or normalized) to ``(n, len(LABELS))`` logits."""

    def logits(self, texts: Sequence[PostText]) -> np.ndarray: ...


def check_ngram_weight(weight: float, where: str) -> float:
    """``weight`` as a float in [0, 1), or a ValueError naming ``where``."""
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0.0 <= float(weight) < 1.0:
        raise ValueError(f"The 'ngram_weight' of {where} must be a number in [0, 1); got {weight!r} instead.")
    return float(weight)


def blend_logits(encoder_logits: np.ndarray, ngram_logits: np.ndarray, ngram_weight: float) -> np.ndarray:
    """``(1 - w) * encoder + w * ngram``, element-wise; shapes must match."""
    w = check_ngram_weight(ngram_weight, "blend_logits")
    encoder_logits = np.asarray(encoder_logits, dtype=np.float64)
    ngram_logits = np.asarray(ngram_logits, dtype=np.float64)
    if encoder_logits.shape != ngram_logits.shape:
        raise ValueError(
            "The 'encoder_logits' and 'ngram_logits' parameters of blend_logits must have the same shape;"
            f" got {encoder_logits.shape} and {ngram_logits.shape} instead."
        )
    return (1.0 - w) * encoder_logits + w * ngram_logits


class BlendedTextClassifier:
    """Encoder + n-gram model behind the ``logits`` / ``predict_proba`` contract of one classifier."""

    def __init__(self, encoder: LogitModel, ngram: NgramModel, ngram_weight: float) -> None:
        self.encoder = encoder
        self.ngram = ngram
        self.ngram_weight = check_ngram_weight(ngram_weight, "BlendedTextClassifier")

    def logits(self, texts: Sequence[PostText]) -> np.ndarray:
        """Blended logits, shape ``(n, len(LABELS))``, in the order of ``texts``.

        Each post is normalized once here and handed to both models normalized.
        """
        check_texts(texts, "BlendedTextClassifier.logits")
        posts = [normalized(t) for t in texts]
        return blend_logits(
            self.encoder.logits(posts), self.ngram.decision_function(posts), self.ngram_weight
        )

    def predict_proba(self, texts: Sequence[PostText]) -> np.ndarray:
        """Per-label probabilities (sigmoid of the blended logits), columns in ``LABELS`` order."""
        return 1.0 / (1.0 + np.exp(-self.logits(texts)))
