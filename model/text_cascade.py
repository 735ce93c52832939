"""A two-stage text model: the fast release on every post, the slow one on the posts it is unsure of.

Why: the 4-layer student is fast enough for every post of a feed but trails the 12-layer teacher
on unseen families; the teacher is too slow to score them all. Most feed posts are plainly
normal (or plainly selling), so their fast scores are far from any cut; only a post where some
label's fast logit lies inside that label's escalation window pays for the teacher.

A window is per label, ``(low, high)`` in the fast model's logits. ``feedguard model build
--escalate-band B`` uses the same window for every label, ``(-B, B)`` around the 0.5 boundary;
``feedguard model cascade`` places each label's window around the fast release's own ``label``
cut, wider below it than above, since a seller the fast model misses sits below its cut. Either
way the policy is then fitted on the cascade's logits, so the policy file reads them like any
model's. :func:`cascade_logits` is the one routing rule, used by the builds (on saved predictions)
and by serving (:class:`CascadeTextClassifier`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from model.labels import LABELS
from model.normalize import PostText, normalized
from model.text_ensemble import LogitModel
from model.tokenizer import check_texts

#: How a cascade routes: a band (the same window ``(-band, band)`` for every label) or a window per
#: label, ``{label: (low, high)}`` in the fast model's logits.
Route = float | Mapping[str, Sequence[float]]


def check_band(band: float, where: str) -> float:
    """``band`` as a positive float, or a ValueError naming ``where``."""
    if isinstance(band, bool) or not isinstance(band, int | float) or not 0.0 < float(band) < float("inf"):
        raise ValueError(f"The 'band' of {where} must be a positive number; got {band!r} instead.")
    return float(band)


def check_window(window: Mapping[str, Sequence[float]], where: str) -> np.ndarray:
    """``window`` as a ``(len(LABELS), 2)`` array of finite ``low < high``, or a ValueError naming ``where``."""
    shape_hint = f"an object with {', '.join(LABELS)}, each [low, high] with low < high"
    if not isinstance(window, Mapping) or set(window) != set(LABELS):
        raise ValueError(f"The 'window' of {where} must be {shape_hint}; got {window!r} instead.")
    rows = []
    for label in LABELS:
        pair = window[label]
        ok = (
            isinstance(pair, Sequence)
            and not isinstance(pair, str)
            and len(pair) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in pair)
            and pair[0] < pair[1]
        )
        if not ok:
            raise ValueError(f"The 'window' of {where} must be {shape_hint}; got {pair!r} for {label!r}.")
        rows.append([float(pair[0]), float(pair[1])])
    return np.array(rows)


def check_route(route: Route, where: str) -> np.ndarray:
    """The ``(len(LABELS), 2)`` window a band or a per-label window stands for, checked."""
    if isinstance(route, Mapping):
        return check_window(route, where)
    band = check_band(route, where)
    return np.tile([-band, band], (len(LABELS), 1))


def escalated(fast_logits: np.ndarray, route: Route) -> np.ndarray:
    """Rows where some label's fast logit lies strictly inside that label's window."""
    return _inside(np.asarray(fast_logits), check_route(route, "escalated"))


def _inside(fast_logits: np.ndarray, window: np.ndarray) -> np.ndarray:
    return ((fast_logits > window[:, 0]) & (fast_logits < window[:, 1])).any(axis=1)


def cascade_logits(fast_logits: np.ndarray, slow_logits: np.ndarray, route: Route) -> np.ndarray:
    """The fast logits, with the escalated rows (all labels) taken from ``slow_logits`` instead."""
    fast_logits, slow_logits = np.asarray(fast_logits), np.asarray(slow_logits)
    if fast_logits.shape != slow_logits.shape:
        raise ValueError(
            "The 'fast_logits' and 'slow_logits' parameters of cascade_logits must have the same shape;"
            f" got {fast_logits.shape} and {slow_logits.shape} instead."
        )
    return np.where(escalated(fast_logits, route)[:, None], slow_logits, fast_logits)


class CascadeTextClassifier:
    """Fast model on every post, slow model on the rows :func:`escalated` picks; one classifier's contract."""

    def __init__(self, fast: LogitModel, slow: LogitModel, route: Route) -> None:
        self.fast, self.slow = fast, slow
        self.route = route
        # Checked once here, so a call on the scoring path does not rebuild it.
        self._window = check_route(route, "CascadeTextClassifier")

    def scored(self, texts: Sequence[PostText]) -> tuple[np.ndarray, np.ndarray]:
        """The served logits ``(n, len(LABELS))`` and which rows the slow model re-scored, from one pass."""
        check_texts(texts, "CascadeTextClassifier.logits")
        posts = [normalized(t) for t in texts]
        out = np.array(self.fast.logits(posts), dtype=np.float64)
        unsure = _inside(out, self._window)
        rows = np.flatnonzero(unsure)
        if len(rows):
            out[rows] = self.slow.logits([posts[i] for i in rows])
        return out, unsure

    def logits(self, texts: Sequence[PostText]) -> np.ndarray:
        """Logits ``(n, len(LABELS))`` in the order of ``texts``; each post is normalized once for both."""
        return self.scored(texts)[0]

    def predict_proba(self, texts: Sequence[PostText]) -> np.ndarray:
        """Per-label probabilities (sigmoid of the cascade's logits), columns in ``LABELS`` order."""
        return 1.0 / (1.0 + np.exp(-self.logits(texts)))
