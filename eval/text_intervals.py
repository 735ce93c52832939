"""How precise a split's figure is: bootstrap intervals, resampling generator families.

The synthetic held-out splits are a few dozen generator families (33 in ``test``), each
family a template written once with hundreds of posts drawn from it. Posts of one family
share their wording, so they are not independent draws: a model that misses a family misses
most of its posts. Resampling posts would treat 170 posts of one template as 170 pieces of
evidence and report intervals far too narrow. So a split with enough families is resampled
by family (a cluster bootstrap: draw families with replacement, keep each drawn family's
posts), and the interval answers "with another draw of held-out families like these, where
would the figure land". Splits without families (the hand-written dev set, an outside
holdout) or with too few to resample (``real_normal``'s four source corpora) are resampled
by post.

Differences between two models are *paired*: both are read on the very same resamples, so
the interval is for the difference itself, which is what "is the release within one point
of the teacher" or "did this build beat that one on these posts" asks. It covers which
posts were drawn, not the run-to-run noise of training (a reseed moves a release by about
as much; train/EXPERIMENTS.md, "How much of this is chance").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from eval.text_metrics import flag_rate, label_metrics, predictions, prf_counts

#: Fewer distinct groups than this and the split is resampled by post: a bootstrap over three
#: or four clusters can only redraw those few and says little about unseen ones.
MIN_CLUSTERS = 10
RESAMPLES = 1000
LEVEL = 0.95


def bootstrap_weights(
    n: int, groups: Sequence[str] | None = None, resamples: int = RESAMPLES, seed: int = 0
) -> tuple[np.ndarray, str, int]:
    """``(weights, unit, units)``: how often each post is drawn in each of ``resamples`` draws.

    ``weights`` has shape ``(resamples, n)``; ``unit`` is ``"families"`` when the draws are of
    whole groups (at least :data:`MIN_CLUSTERS` distinct ones) and ``"posts"`` otherwise;
    ``units`` how many there were to draw from. The seed is fixed so that a report is
    reproduced figure for figure.
    """
    if n < 1:
        raise ValueError(f"The 'n' parameter must be >= 1; got {n!r} instead.")
    if resamples < 1:
        raise ValueError(f"The 'resamples' parameter must be >= 1; got {resamples!r} instead.")
    if groups is not None and len(groups) != n:
        raise ValueError(f"The 'groups' parameter must have {n} entries; got {len(groups)} instead.")
    rng = np.random.default_rng(seed)
    if groups is not None:
        names, index = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
        if len(names) >= MIN_CLUSTERS:
            drawn = rng.multinomial(len(names), np.full(len(names), 1.0 / len(names)), size=resamples)
            return drawn[:, index].astype(np.float32), "families", len(names)
    drawn = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples)
    return drawn.astype(np.float32), "posts", n


def macro_f1_draws(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Macro-F1 of 0/1 predictions under each row of ``weights``; shape ``(resamples,)``.

    A draw of families can miss every family of a label the split has (``validation`` has 15
    families, a few per label); that draw averages over the labels it holds, since F1 on a
    label with nothing to find is a convention (0 at the first false flag) that would pull such
    a draw's macro-F1 down by up to a third for no reason in the model. A draw that holds no
    labelled post at all measures no macro-F1 and reads NaN (the intervals skip it).
    """
    y, pred = np.asarray(y, dtype=np.float32), np.asarray(pred, dtype=np.float32)
    tp = weights @ (pred * y)
    fp = weights @ (pred * (1 - y))
    fn = weights @ ((1 - pred) * y)
    f1 = prf_counts(tp, fp, fn)[2]
    counted = (tp + fn > 0) | (y.sum(axis=0) == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counted.any(axis=1), (f1 * counted).sum(axis=1) / counted.sum(axis=1), np.nan)


def flag_rate_draws(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Share of normal posts flagged with any label under each row of ``weights``."""
    normal = ~np.asarray(y).astype(bool).any(axis=1)
    flagged = (np.asarray(pred).astype(bool).any(axis=1) & normal).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (weights @ flagged) / (weights @ normal.astype(np.float32))


def figure_intervals(
    y: np.ndarray,
    models: Mapping[str, tuple[np.ndarray, Any]],
    *,
    groups: Sequence[str] | None = None,
    reference: str | None = None,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Per model, its split figure with a bootstrap interval, and its paired difference from ``reference``.

    ``models`` maps a name to ``(scores, thresholds)`` on the same rows. The figure is macro-F1
    when the split has labelled posts and the share of normal posts flagged when it has none
    (``real_normal``), as the report's tables read. Each entry: ``figure`` (which one), ``value``
    (on the split as it is), ``interval`` (the central ``level`` share of the draws), ``unit``
    and ``units`` (what was resampled), and for models other than ``reference``,
    ``difference`` (model − reference) with its ``difference_interval``.
    """
    y = np.asarray(y, dtype=np.float64)
    if not 0 < level < 1:
        raise ValueError(f"The 'level' parameter must be in (0, 1); got {level!r} instead.")
    if reference is not None and reference not in models:
        raise ValueError(f"The 'reference' parameter must name one of the models; got {reference!r} instead.")
    labelled = bool(y.any())
    weights, unit, units = bootstrap_weights(len(y), groups, resamples, seed)
    draw = macro_f1_draws if labelled else flag_rate_draws
    figure = "macro_f1" if labelled else "normal_flag_rate"
    tail = (1 - level) / 2 * 100
    values: dict[str, float] = {}
    draws: dict[str, np.ndarray] = {}
    for name, (scores, thresholds) in models.items():
        # The point figure is the one the report's tables print, from eval.text_metrics.
        values[name] = (
            label_metrics(y, scores, thresholds)["macro_f1"] if labelled else flag_rate(scores, thresholds, y)
        )
        draws[name] = draw(y, predictions(scores, thresholds), weights)
    out: dict[str, dict[str, Any]] = {}
    for name in models:
        lo, hi = np.nanpercentile(draws[name], [tail, 100 - tail])
        entry: dict[str, Any] = {
            "figure": figure,
            "value": values[name],
            "interval": [float(lo), float(hi)],
            "unit": unit,
            "units": units,
            "level": level,
        }
        if reference is not None and name != reference:
            gap = draws[name] - draws[reference]
            dlo, dhi = np.nanpercentile(gap, [tail, 100 - tail])
            entry["difference"] = values[name] - values[reference]
            entry["difference_interval"] = [float(dlo), float(dhi)]
        out[name] = entry
    return out
