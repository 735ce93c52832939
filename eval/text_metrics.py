"""Quality metrics for the text model, on plain arrays.

Everything takes a 0/1 label matrix ``y`` and a score matrix ``probs`` of shape
``(n, len(LABELS))`` (columns in :data:`model.labels.LABELS` order), so the same
functions score the n-gram baseline, the PyTorch teacher and student, and the ONNX
FP32/INT8 models, and the release build and ``feedguard eval`` cannot disagree on
what a figure means. Thresholds are passed in (0.5 for raw models, the policy's
``label`` thresholds for the calibrated release); none is chosen here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from model.labels import EVASION_TRICKS, LABELS


def _check(y: np.ndarray, probs: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    if y.shape != probs.shape or y.ndim != 2 or y.shape[1] != len(LABELS):
        raise ValueError(
            f"The 'y' and 'probs' parameters of {where} must both have shape (n, {len(LABELS)});"
            f" got {y.shape} and {probs.shape} instead."
        )
    return y, probs


def threshold_vector(thresholds: float | Mapping[str, float | None] | Sequence[float]) -> np.ndarray:
    """Per-label thresholds as a vector; a ``None`` threshold (never fires) becomes ``inf``."""
    if isinstance(thresholds, int | float):
        return np.full(len(LABELS), float(thresholds))
    if isinstance(thresholds, Mapping):
        return np.array(
            [np.inf if thresholds[label] is None else float(thresholds[label]) for label in LABELS]
        )
    vec = np.asarray(thresholds, dtype=np.float64)
    if vec.shape != (len(LABELS),):
        raise ValueError(
            f"The 'thresholds' parameter must be a number, a label mapping or {len(LABELS)} numbers; got {vec.shape}."
        )
    return vec


def predictions(
    probs: np.ndarray, thresholds: float | Mapping[str, float | None] | Sequence[float]
) -> np.ndarray:
    """0/1 matrix: score at or over its label's threshold."""
    return (np.asarray(probs) >= threshold_vector(thresholds)).astype(np.int64)


def prf_counts(tp: Any, fp: Any, fn: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 from counts, element-wise (scalars or arrays, e.g. bootstrap draws).

    A label with nothing to find and nothing flagged is perfect, not undefined; with nothing to
    find but a false flag its precision (and F1) is 0.
    """
    tp, fp, fn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.where(fn == 0, 1.0, 0.0))
        recall = np.where(tp + fn > 0, tp / (tp + fn), 1.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return precision, recall, f1


def label_metrics(y: np.ndarray, probs: np.ndarray, thresholds: Any = 0.5) -> dict[str, Any]:
    """Per-label precision/recall/F1/support and their macro average, at ``thresholds``."""
    y, probs = _check(y, probs, "label_metrics")
    pred = predictions(probs, thresholds)
    per: dict[str, dict[str, float]] = {}
    for j, label in enumerate(LABELS):
        tp = float(((pred[:, j] == 1) & (y[:, j] == 1)).sum())
        fp = float(((pred[:, j] == 1) & (y[:, j] == 0)).sum())
        fn = float(((pred[:, j] == 0) & (y[:, j] == 1)).sum())
        p, r, f = prf_counts(tp, fp, fn)
        per[label] = {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
            "support": int(y[:, j].sum()),
        }
    return {
        "per_label": per,
        "macro_f1": float(np.mean([per[label]["f1"] for label in LABELS])),
        "rows": len(y),
    }


def flag_rate(probs: np.ndarray, thresholds: Any = 0.5, y: np.ndarray | None = None) -> float:
    """Share of rows flagged with any label; with ``y``, only over rows with no true label (the FPR)."""
    pred = predictions(probs, thresholds).any(axis=1)
    if y is not None:
        normal = ~np.asarray(y).astype(bool).any(axis=1)
        if not normal.any():
            return float("nan")
        pred = pred[normal]
    return float(pred.mean()) if len(pred) else float("nan")


def per_trick_recall(
    y: np.ndarray, probs: np.ndarray, tricks: Sequence[Sequence[str]], thresholds: Any = 0.5
) -> dict[str, dict[str, float]]:
    """Recall over the true (post, label) pairs of posts carrying each evasion trick.

    Evasion hides a post's purpose, so the question per trick is: of the labels those
    posts truly have, how many did the model still find?
    """
    y, probs = _check(y, probs, "per_trick_recall")
    if len(tricks) != len(y):
        raise ValueError(f"The 'tricks' parameter must have {len(y)} entries; got {len(tricks)} instead.")
    pred = predictions(probs, thresholds)
    out: dict[str, dict[str, float]] = {}
    for trick in EVASION_TRICKS:
        rows = np.array([trick in (t or ()) for t in tricks], dtype=bool)
        positives = y[rows] == 1
        if not positives.any():
            continue
        found = (pred[rows] == 1) & positives
        out[trick] = {"posts": int(rows.sum()), "recall": float(found.sum() / positives.sum())}
    return out


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> dict[str, float]:
    """Per-label ECE: mean |observed positive rate - mean score| over equal-width score bins."""
    y, probs = _check(y, probs, "expected_calibration_error")
    out: dict[str, float] = {}
    for j, label in enumerate(LABELS):
        p, t = probs[:, j], y[:, j]
        which = np.minimum((p * bins).astype(int), bins - 1)
        ece = 0.0
        for b in range(bins):
            m = which == b
            if m.any():
                ece += m.mean() * abs(t[m].mean() - p[m].mean())
        out[label] = float(ece) if len(p) else float("nan")
    return out


def pr_curves(y: np.ndarray, probs: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per-label precision-recall curve and average precision (labels with no positives are skipped)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    y, probs = _check(y, probs, "pr_curves")
    out: dict[str, dict[str, Any]] = {}
    for j, label in enumerate(LABELS):
        if y[:, j].sum() == 0 or y[:, j].sum() == len(y):
            continue
        precision, recall, _ = precision_recall_curve(y[:, j], probs[:, j])
        out[label] = {
            "precision": precision,
            "recall": recall,
            "average_precision": float(average_precision_score(y[:, j], probs[:, j])),
        }
    return out


def confusion(y: np.ndarray, probs: np.ndarray, thresholds: Any = 0.5) -> dict[str, np.ndarray]:
    """Per-label 2x2 matrix ``[[TN, FP], [FN, TP]]``."""
    y, probs = _check(y, probs, "confusion")
    pred = predictions(probs, thresholds)
    out: dict[str, np.ndarray] = {}
    for j, label in enumerate(LABELS):
        t, p = y[:, j].astype(int), pred[:, j]
        out[label] = np.array(
            [
                [((t == 0) & (p == 0)).sum(), ((t == 0) & (p == 1)).sum()],
                [((t == 1) & (p == 0)).sum(), ((t == 1) & (p == 1)).sum()],
            ]
        )
    return out


def agreement(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Share of positions where two decision lists agree."""
    if len(a) != len(b):
        raise ValueError(f"The decision lists must have the same length; got {len(a)} and {len(b)} instead.")
    if not a:
        return float("nan")
    return float(np.mean([x == y for x, y in zip(a, b, strict=True)]))


def parity(probs_ref: np.ndarray, probs_other: np.ndarray, thresholds: Any = 0.5) -> dict[str, float]:
    """How far a converted model (ONNX INT8) is from its reference: decision agreement, max score gap.

    ``decision_agreement`` counts each (post, label) yes/no decision; ``label_decision_agreement``
    is stricter: the share of posts on which every label's decision agrees.
    """
    a = np.asarray(probs_ref, dtype=np.float64)
    b = np.asarray(probs_other, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"The two score matrices must have the same shape; got {a.shape} and {b.shape} instead."
        )
    pa, pb = predictions(a, thresholds), predictions(b, thresholds)
    return {
        "rows": len(a),
        "decision_agreement": float((pa == pb).mean()) if len(a) else float("nan"),
        "label_decision_agreement": float((pa == pb).all(axis=1).mean()) if len(a) else float("nan"),
        "max_abs_diff": float(np.abs(a - b).max()) if a.size else 0.0,
        "mean_abs_diff": float(np.abs(a - b).mean()) if a.size else 0.0,
    }


def errors_by_group(
    y: np.ndarray, probs: np.ndarray, groups: Sequence[str], thresholds: Any = 0.5
) -> dict[str, dict[str, Any]]:
    """False positives and negatives per label within each group (a generator family, say).

    Synthetic test splits are whole families the model never saw, so a split's errors tend
    to sit in a few families; naming them tells a missing concept (one family, every post
    missed) from scattered noise, and shows where a family's labels disagree with the
    training families' conventions.
    """
    y, probs = _check(y, probs, "errors_by_group")
    if len(groups) != len(y):
        raise ValueError(f"The 'groups' parameter must have {len(y)} entries; got {len(groups)} instead.")
    pred = predictions(probs, thresholds)
    groups_arr = np.asarray([str(g) for g in groups])
    out: dict[str, dict[str, Any]] = {}
    for group in sorted(set(groups_arr.tolist())):
        rows = groups_arr == group
        yt, pt = y[rows], pred[rows]
        per_label = {
            label: {
                "positives": int(yt[:, j].sum()),
                "false_positives": int(((pt[:, j] == 1) & (yt[:, j] == 0)).sum()),
                "false_negatives": int(((pt[:, j] == 0) & (yt[:, j] == 1)).sum()),
            }
            for j, label in enumerate(LABELS)
        }
        errors = sum(v["false_positives"] + v["false_negatives"] for v in per_label.values())
        out[group] = {"posts": int(rows.sum()), "errors": errors, "per_label": per_label}
    return out


def macro_f1_without_groups(
    per_group: Mapping[str, Mapping[str, Any]], without: Collection[str] = ()
) -> float:
    """Macro-F1 over the posts of every group but ``without``, from ``errors_by_group``'s counts.

    Why: a split's figure can move in a few families only (a training round written toward them);
    the rest of the split says whether the change carried beyond them. F1 per label as ``prf_counts``
    gives it (a label no kept post holds and none was given counts as perfect).
    """
    unknown = sorted(set(without) - set(per_group))
    if unknown:
        raise ValueError(
            f"Groups not in the split: {', '.join(unknown)}; the split has {len(per_group)} groups."
        )
    keys = ("positives", "false_positives", "false_negatives")
    totals = np.zeros((len(LABELS), len(keys)), dtype=np.int64)  # per label: positives, fp, fn
    for group, counts in per_group.items():
        if group not in without:
            totals += [[counts["per_label"][label][key] for key in keys] for label in LABELS]
    positives, fp, fn = totals.T
    _, _, f1 = prf_counts(positives - fn, fp, fn)
    return float(np.mean(f1))


def top_scored_negatives(
    y: np.ndarray, probs: np.ndarray, groups: Sequence[str], top: int = 100
) -> dict[str, dict[str, Any]]:
    """Per label: of the ``top`` highest-scored posts, how many lack the label, and their groups.

    A ``review`` or ``hide`` cut needs its precision target (0.97, 0.99) among the very highest
    scores, so when the policy finds no cut for a label, the posts crowding that top without
    the label are the reason; their groups (generator families, real-text sources) tell a
    labelling convention that disagrees with training from a concept the model confuses.
    """
    y, probs = _check(y, probs, "top_scored_negatives")
    if len(groups) != len(y):
        raise ValueError(f"The 'groups' parameter must have {len(y)} entries; got {len(groups)} instead.")
    if top < 1:
        raise ValueError(f"The 'top' parameter must be >= 1; got {top!r} instead.")
    groups_arr = np.asarray([str(g) for g in groups])
    out: dict[str, dict[str, Any]] = {}
    for j, label in enumerate(LABELS):
        # Stable sort on the negated score: ties keep row order, so the table is reproducible.
        highest = np.argsort(-probs[:, j], kind="stable")[:top]
        negatives = highest[y[highest, j] == 0]
        counts = Counter(groups_arr[negatives].tolist())
        ranked = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        out[label] = {"top": len(highest), "negatives": len(negatives), "groups": ranked}
    return out


def split_summary(
    y: np.ndarray,
    probs: np.ndarray,
    thresholds: Any = 0.5,
    tricks: Sequence[Sequence[str]] | None = None,
    families: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Everything the report tabulates for one model on one split."""
    y, probs = _check(y, probs, "split_summary")
    summary = label_metrics(y, probs, thresholds)
    summary["normal_flag_rate"] = flag_rate(probs, thresholds, y)
    summary["ece"] = expected_calibration_error(probs, y)
    if tricks is not None:
        summary["per_trick_recall"] = per_trick_recall(y, probs, tricks, thresholds)
    if families is not None:
        summary["per_family_errors"] = errors_by_group(y, probs, families, thresholds)
    return summary
