"""The text model's evaluation report: Markdown tables + PNG plots, several models side by side.

The report works from *scores*, not models: each model is a :class:`ModelScores`
(name, ``{split: (n, len(LABELS)) scores}``, the thresholds that turn them into labels).
So the n-gram baseline, the PyTorch teacher and student, the ONNX FP32/INT8 exports and
the calibrated release are compared on the very same rows with the very same metric code
(:mod:`eval.text_metrics`), whether the scores were computed just now (``feedguard
eval``) or during the release build (``WORK/predictions``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval.text_intervals import RESAMPLES, figure_intervals
from eval.text_metrics import confusion, pr_curves, split_summary, top_scored_negatives
from model.bundle import describe_route
from model.labels import EVASION_TRICKS, LABELS, labels_to_matrix

#: How the report names the splits, and what each one answers.
SPLIT_NOTES = {
    "validation": "synthetic, families unseen in training (used for selection)",
    "test": "synthetic, families unseen in training and selection",
    "evasion": "test families with evasion tricks",
    "real_normal": "real Chinese text held out from everything (all normal: flag rate = FPR)",
    "dev": "hand-written dev set (used for selection and thresholds)",
    "holdout": "labelled posts from --holdout, meant to be kept outside this repository (no build choice sees them)",
}


#: The order splits are shown in: hand-written first, it is the figure that matters most; an
#: outside holdout (eval.holdout) before the dev set, since no choice of the build ever saw it.
BUILD_SPLIT_ORDER = ("holdout", "dev", "test", "evasion", "real_normal", "validation")


@dataclass(frozen=True)
class EvalSplit:
    """What the report needs of a split (``train.dataset.TextSplit`` has the same fields)."""

    name: str
    texts: list[str]
    y: np.ndarray
    tricks: list[tuple[str, ...]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    #: Generator family per post (synthetic splits only; empty for real and hand-written text).
    families: list[str] = field(default_factory=list)
    #: Each post's id, where every row of the source named one (a holdout file; empty otherwise).
    ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelScores:
    """One model's scores per split, and the thresholds its labels are read at."""

    name: str
    scores: Mapping[str, np.ndarray]
    thresholds: Any = 0.5
    note: str = ""


def _label_matrix(ds) -> np.ndarray:
    if all(label in ds.column_names for label in LABELS):
        return np.stack([np.asarray(ds[label], dtype=np.float32) for label in LABELS], axis=1).reshape(
            -1, len(LABELS)
        )
    return labels_to_matrix(ds["labels"])


def load_eval_splits(
    data_dir: Path, splits: Sequence[str] = ("test", "evasion", "real_normal")
) -> dict[str, EvalSplit]:
    """Splits of a dataset build plus the hand-written dev set (``dev``), as :class:`EvalSplit`."""
    from datasets import load_from_disk

    path = Path(data_dir) / "dataset"
    if not (path / "dataset_dict.json").is_file():
        raise ValueError(
            f"The 'data_dir' parameter must be a dataset build (DIR/dataset); got {str(data_dir)!r} instead"
            " (run `feedguard data build --out DIR`)."
        )
    dd = load_from_disk(str(path))
    out: dict[str, EvalSplit] = {}
    for name in splits:
        if name not in dd:
            raise ValueError(
                f"The dataset at {str(data_dir)!r} has no split {name!r}; it has {', '.join(dd)}."
            )
        ds = dd[name]
        tricks = [tuple(t or ()) for t in ds["tricks"]] if "tricks" in ds.column_names else []
        kinds = [str(k or "") for k in ds["kind"]] if "kind" in ds.column_names else []
        families = [str(f or "") for f in ds["family"]] if "family" in ds.column_names else []
        out[name] = EvalSplit(name, list(ds["text"]), _label_matrix(ds), tricks, kinds, families)
    try:
        from data.devset import load_devset
    except ImportError:
        return out
    rows = load_devset()
    out["dev"] = EvalSplit(
        "dev",
        [r["text"] for r in rows],
        labels_to_matrix([r["labels"] for r in rows]),
        [tuple(r.get("tricks") or ()) for r in rows],
        [str(r.get("kind") or "") for r in rows],
    )
    return out


def load_predictions(work: Path) -> dict[str, dict[str, np.ndarray]]:
    """``{model: {split: logits}}`` saved by the release build under ``WORK/predictions/<model>/<split>.npy``."""
    root = Path(work) / "predictions"
    out: dict[str, dict[str, np.ndarray]] = {}
    if not root.is_dir():
        return out
    for model_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        out[model_dir.name] = {
            f.stem: np.load(f, allow_pickle=False) for f in sorted(model_dir.glob("*.npy"))
        }
    return out


#: The release build's blend choice (``WORK/blend.json``): the n-gram weight it released and the
#: selection macro-F1 of every weight it tried.
BLEND_FILE = "blend.json"


def _blend_record(work: Path) -> dict[str, Any]:
    """``WORK/blend.json``, or ``{}`` for builds from before the blend stage."""
    path = Path(work) / BLEND_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def load_blend_weight(work: Path) -> float:
    """The n-gram weight a build blended into its release; 0.0 for builds from before the blend."""
    record = _blend_record(work)
    return float(record["ngram_weight"]) if record else 0.0


def load_released_role(work: Path) -> str:
    """Which of a build's models it released, ``teacher`` or ``student``, as its blend stage recorded.

    Builds from before the role was recorded released the student whenever they blended.
    """
    return str(_blend_record(work).get("role", "student"))


def release_note(role: str, ngram_weight: float, escalation: Mapping[str, Any] | None = None) -> str:
    """How the release row was scored, in the words every report uses.

    ``escalation`` is a cascade's slow half (``band`` or ``window``, ``role``, ``ngram_weight``), as
    the build's blend record and the release manifest hold it.
    """
    blended = f" blended with the n-gram model at {ngram_weight:.1f}" if ngram_weight else ""
    cascade = ""
    if escalation:
        slow_weight = float(escalation["ngram_weight"])
        slow_blend = f" + n-gram at {slow_weight:.1f}" if slow_weight else ""
        cascade = (
            f"; {describe_route(escalation)} re-scored by the"
            f" {escalation.get('role') or escalation.get('model_role', '?')} INT8{slow_blend}"
        )
    return f"{role} INT8{blended}{cascade}, calibrated, policy 'label' thresholds"


def load_escalation(work: Path) -> dict[str, Any] | None:
    """A build's cascade (``band``, ``role``, ``ngram_weight`` of the slow half), or None without one."""
    return _blend_record(work).get("escalation") or None


# ---------------------------------------------------------------------------- metrics
def _families(split: Any) -> list[str] | None:
    """The split's generator family per post, or None for splits without them (real, hand-written)."""
    families = getattr(split, "families", None)
    return families if families and any(families) else None


def compute_metrics(
    splits: Mapping[str, Any], models: Sequence[ModelScores], reference: str | None = None
) -> dict[str, dict[str, Any]]:
    """``{model: {split: split_summary}}`` for every model that has scores on a split.

    Each summary also holds ``interval`` (:func:`eval.text_intervals.figure_intervals`): the
    split's figure with its bootstrap interval and, when ``reference`` names a model scored on
    the split, the paired difference from it.
    """
    out: dict[str, dict[str, Any]] = {}
    for model in models:
        out[model.name] = {}
        for name, split in splits.items():
            if name not in model.scores:
                continue
            scores = np.asarray(model.scores[name])
            if scores.shape != split.y.shape:
                raise ValueError(
                    f"Model {model.name!r} has scores of shape {scores.shape} on {name!r}; the split has"
                    f" {split.y.shape[0]} rows."
                )
            out[model.name][name] = split_summary(
                split.y, scores, model.thresholds, split.tricks or None, _families(split)
            )
    for name, split in splits.items():
        scored = {m.name: (np.asarray(m.scores[name]), m.thresholds) for m in models if name in m.scores}
        if not scored or not len(split.y):
            continue
        intervals = figure_intervals(
            split.y, scored, groups=_families(split), reference=reference if reference in scored else None
        )
        for model_name, entry in intervals.items():
            out[model_name][name]["interval"] = entry
    return out


# ---------------------------------------------------------------------------- markdown
def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def comparison_table(metrics: Mapping[str, Mapping[str, Any]], splits: Sequence[str]) -> str:
    """Models x splits: macro-F1 (and the normal-post flag rate on real_normal)."""
    head = ["model", *[f"{s} macro-F1" if s != "real_normal" else "real_normal FPR" for s in splits]]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for model, per_split in metrics.items():
        cells = [model]
        for s in splits:
            m = per_split.get(s)
            if m is None:
                cells.append("–")
            elif s == "real_normal":
                cells.append(f"{_f(m['normal_flag_rate'] * 100, 2)} %")
            else:
                cells.append(_f(m["macro_f1"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _figure(entry: Mapping[str, Any], value: float, signed: bool = False) -> str:
    """A figure as the tables print it: macro-F1 to 3 places, a flag rate in percent.

    A ``signed`` value is a difference; between two flag rates it is in percentage points.
    """
    if entry["figure"] == "normal_flag_rate":
        return f"{value * 100:+.2f} pt" if signed else f"{value * 100:.2f} %"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


#: What the interval tables mean, for the report and the model card alike.
PRECISION_NOTE = (
    "Posts of one generator family share a template, so a synthetic split is resampled by whole "
    "families and the others by post: the interval says where the figure would land on another draw "
    "of posts like these. It does not cover training noise (a reseeded build moves by about as much)."
)


def interval_tables(metrics: Mapping[str, Mapping[str, Any]], splits: Sequence[str], reference: str) -> str:
    """Models x splits: each figure with its bootstrap interval, then each model's paired gap to ``reference``."""
    shown = [s for s in splits if any("interval" in per.get(s, {}) for per in metrics.values())]
    if not shown:
        return ""
    # Every model on a split was read on the same draws; the first one found says of what.
    drawn = {
        s: next(per[s]["interval"] for per in metrics.values() if "interval" in per.get(s, {})) for s in shown
    }
    level = next(iter(drawn.values()))["level"]
    lines = [
        "Resampled: "
        + "; ".join(f"`{s}` by {e['unit']} ({e['units']})" for s, e in drawn.items())
        + f". Each cell: the figure, then the central {level:.0%} of {RESAMPLES} draws.",
        "",
        "| model | " + " | ".join(shown) + " |",
        "| --- |" + " --- |" * len(shown),
    ]
    for model, per_split in metrics.items():
        cells = []
        for s in shown:
            e = per_split.get(s, {}).get("interval")
            cells.append(
                "–"
                if e is None
                else f"{_figure(e, e['value'])} ({_figure(e, e['interval'][0])}–{_figure(e, e['interval'][1])})"
            )
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    others = [
        m
        for m in metrics
        if m != reference and any("difference" in metrics[m].get(s, {}).get("interval", {}) for s in shown)
    ]
    if others:
        lines += [
            "",
            f"Difference from `{reference}` on the same draws (paired; an interval that holds 0 is no evidence either way):",
            "",
            "| model | " + " | ".join(shown) + " |",
            "| --- |" + " --- |" * len(shown),
        ]
        for model in others:
            cells = []
            for s in shown:
                e = metrics[model].get(s, {}).get("interval", {})
                if "difference" not in e:
                    cells.append("–")
                    continue
                lo, hi = e["difference_interval"]
                cells.append(
                    f"{_figure(e, e['difference'], True)} ({_figure(e, lo, True)} to {_figure(e, hi, True)})"
                )
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def has_positives(summary: Mapping[str, Any]) -> bool:
    """Whether a split summary (``split_summary``) has any labelled post.

    Without one (``real_normal``) its macro-F1 is a convention, not a result: the card's headline
    and ``feedguard eval`` print the split's flag rate instead.
    """
    return any(per["support"] for per in summary["per_label"].values())


def per_label_table(metrics: Mapping[str, Any], splits: Sequence[str]) -> str:
    """One model: per split and label, precision / recall / F1 / support, plus the normal-post flag rate.

    A label with no positives in a split (every label of ``real_normal``) gets "–" for all three:
    its precision is 0 or 1 by whether anything was flagged and its recall 1 by convention, which
    read as results; the flag-rate column is what that split measures.
    """
    lines = [
        "| split | label | precision | recall | F1 | positives | normal posts flagged |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in splits:
        m = metrics.get(s)
        if m is None:
            continue
        for label in LABELS:
            pl = m["per_label"][label]
            prf = [_f(pl[k]) if pl["support"] else "–" for k in ("precision", "recall", "f1")]
            lines.append(
                f"| {s} | {label} | {' | '.join(prf)} | "
                f"{pl['support']} | {_f(m['normal_flag_rate'] * 100, 2)} % |"
            )
    return "\n".join(lines)


def trick_table(metrics: Mapping[str, Mapping[str, Any]], split: str) -> str:
    """Models x evasion tricks: recall on the posts carrying each trick."""
    head = ["model", *EVASION_TRICKS]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for model, per_split in metrics.items():
        tr = per_split.get(split, {}).get("per_trick_recall", {})
        cells = [model] + [
            f"{_f(tr[t]['recall'])} (n={tr[t]['posts']})" if t in tr else "–" for t in EVASION_TRICKS
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def family_error_table(metrics: Mapping[str, Any], split: str, top: int = 10) -> str:
    """One model on one synthetic split: the generator families holding most of its errors."""
    families = metrics.get(split, {}).get("per_family_errors") or {}
    total = sum(f["errors"] for f in families.values())
    if not total:
        return f"No errors on `{split}`." if families else f"`{split}` has no generator families."
    head = ["family", "posts", *[f"{label} FP / FN (positives)" for label in LABELS], "share of errors"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    ranked = sorted(families.items(), key=lambda kv: (-kv[1]["errors"], kv[0]))
    for family, f in [kv for kv in ranked if kv[1]["errors"]][:top]:
        cells = [f"`{family}`", str(f["posts"])]
        for label in LABELS:
            pl = f["per_label"][label]
            cells.append(f"{pl['false_positives']} / {pl['false_negatives']} ({pl['positives']})")
        cells.append(f"{_f(f['errors'] / total * 100, 1)} %")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: Where the policy's cuts are chosen (train.calibrate): the top-scored negatives there explain a missing cut.
SELECTION_SPLITS = ("validation", "dev")
TOP_SCORED = 100


def selection_top_negatives(
    splits: Mapping[str, Any], model: ModelScores, top: int = TOP_SCORED
) -> dict[str, dict[str, Any]] | None:
    """:func:`top_scored_negatives` of one model on validation + dev pooled; None unless it scored both.

    Posts without a family (hand-written, real) are grouped by split name.
    """
    if not all(s in splits and s in model.scores for s in SELECTION_SPLITS):
        return None
    y = np.concatenate([splits[s].y for s in SELECTION_SPLITS])
    scores = np.concatenate([np.asarray(model.scores[s]) for s in SELECTION_SPLITS])
    groups: list[str] = []
    for s in SELECTION_SPLITS:
        families = list(getattr(splits[s], "families", None) or [])
        groups += [f or s for f in families] if len(families) == len(splits[s].y) else [s] * len(splits[s].y)
    return top_scored_negatives(y, scores, groups, top)


def top_negatives_table(top_negatives: Mapping[str, Mapping[str, Any]], shown: int = 4) -> str:
    """One row per label: how many of its highest scores lack it, and which groups they come from."""
    lines = ["| label | highest scores | not the label | from (posts) |", "| --- | --- | --- | --- |"]
    for label in LABELS:
        t = top_negatives[label]
        where = ", ".join(f"`{g}` {n}" for g, n in list(t["groups"].items())[:shown]) or "–"
        lines.append(f"| {label} | {t['top']} | {t['negatives']} | {where} |")
    return "\n".join(lines)


def parity_table(parity: Mapping[str, Any]) -> str:
    """PyTorch FP32 vs ONNX FP32/INT8 on the test split."""
    lines = [
        "| compared with PyTorch FP32 | posts | decision agreement (post × label) | posts, all labels agree |"
        " action agreement | max abs score diff | mean abs diff |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("onnx_fp32", "onnx_int8"):
        p = parity.get(name)
        if p:
            lines.append(
                f"| {name} | {p['rows']} | {_f(p['decision_agreement'] * 100, 2)} % | "
                f"{_f(p['label_decision_agreement'] * 100, 2)} % | {_f(p['action_agreement'] * 100, 2)} % | "
                f"{_f(p['max_abs_diff'], 4)} | "
                f"{_f(p['mean_abs_diff'], 5)} |"
            )
    return "\n".join(lines)


def ece_table(metrics: Mapping[str, Mapping[str, Any]], model: str, splits: Sequence[str]) -> str:
    lines = ["| split | " + " | ".join(LABELS) + " |", "| --- |" + " --- |" * len(LABELS)]
    for s in splits:
        m = metrics.get(model, {}).get(s)
        if m:
            lines.append(f"| {s} | " + " | ".join(_f(m["ece"][label]) for label in LABELS) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ plots
def _plots(splits: Mapping[str, Any], models: Sequence[ModelScores], out_dir: Path, focus: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from eval.text_metrics import threshold_vector

    files: list[str] = []
    by_name = {m.name: m for m in models}
    for split_name, split in splits.items():
        have = [m for m in models if split_name in m.scores]
        if not have:
            continue
        if not (split.y == 1).any():
            have = []  # no positives (real_normal): no PR curve; the histograms say it all
        if have:
            files.append(_pr_plot(split_name, split, have, out_dir))

        model = by_name.get(focus)
        if model is None or split_name not in model.scores:
            continue
        scores = np.asarray(model.scores[split_name])
        # Confusion matrices of the focus model at its thresholds.
        fig, axes = plt.subplots(1, len(LABELS), figsize=(3.6 * len(LABELS), 3.4))
        for j, (label, cm) in enumerate(confusion(split.y, scores, model.thresholds).items()):
            ax = axes[j]
            ax.imshow(cm, cmap="Blues")
            for (r, c), v in np.ndenumerate(cm):
                ax.text(c, r, str(int(v)), ha="center", va="center", color="black")
            ax.set_xticks([0, 1], ["pred 0", "pred 1"])
            ax.set_yticks([0, 1], ["true 0", "true 1"])
            ax.set_title(label)
        fig.suptitle(f"{focus} on {split_name}")
        fig.tight_layout()
        name = f"confusion_{split_name}.png"
        fig.savefig(out_dir / name, dpi=90)
        plt.close(fig)
        files.append(name)
        # Score histograms: true positives vs the rest, with the threshold.
        thr = threshold_vector(model.thresholds)
        fig, axes = plt.subplots(1, len(LABELS), figsize=(4.2 * len(LABELS), 3.4))
        bins = np.linspace(0, 1, 26)
        for j, label in enumerate(LABELS):
            ax = axes[j]
            pos = split.y[:, j] == 1
            if pos.any():
                ax.hist(scores[pos, j], bins=bins, alpha=0.6, label="labelled", color="tab:red")
            if (~pos).any():
                ax.hist(scores[~pos, j], bins=bins, alpha=0.6, label="not labelled", color="tab:blue")
            if np.isfinite(thr[j]):
                ax.axvline(thr[j], color="black", linestyle="--", label="threshold")
            ax.set_yscale("log")
            ax.set_title(f"{label} ({split_name})")
            ax.legend(fontsize=7)
        fig.tight_layout()
        name = f"hist_{split_name}.png"
        fig.savefig(out_dir / name, dpi=90)
        plt.close(fig)
        files.append(name)
    return files


def _pr_plot(split_name: str, split: Any, models: Sequence[ModelScores], out_dir: Path) -> str:
    """PR curves, one panel per label, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(LABELS), figsize=(5 * len(LABELS), 4.2))
    for j, label in enumerate(LABELS):
        ax = axes[j]
        for m in models:
            curve = pr_curves(split.y, np.asarray(m.scores[split_name])).get(label)
            if curve:
                ax.plot(
                    curve["recall"],
                    curve["precision"],
                    label=f"{m.name} (AP {curve['average_precision']:.3f})",
                )
        ax.set_title(f"{label} ({split_name})")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_ylim(0, 1.02)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    name = f"pr_{split_name}.png"
    fig.savefig(out_dir / name, dpi=90)
    plt.close(fig)
    return name


def _trick_plot(metrics: Mapping[str, Mapping[str, Any]], split: str, out_dir: Path) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [m for m, per in metrics.items() if per.get(split, {}).get("per_trick_recall")]
    if not models:
        return None
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(models)
    x = np.arange(len(EVASION_TRICKS))
    for i, model in enumerate(models):
        tr = metrics[model][split]["per_trick_recall"]
        ax.bar(
            x + i * width, [tr.get(t, {}).get("recall", np.nan) for t in EVASION_TRICKS], width, label=model
        )
    ax.set_xticks(x + 0.4 - width / 2, EVASION_TRICKS)
    ax.set_ylabel("recall")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"recall per evasion trick ({split})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    name = f"tricks_{split}.png"
    fig.savefig(out_dir / name, dpi=90)
    plt.close(fig)
    return name


# ------------------------------------------------------------------------------ report
def write_text_report(
    splits: Mapping[str, Any],
    models: Sequence[ModelScores],
    out_dir: Path,
    *,
    parity: Mapping[str, Any] | None = None,
    policy=None,
    focus: str = "release",
    title: str = "FeedGuard text model: evaluation",
) -> dict[str, Any]:
    """Write ``out_dir/README.md`` + PNGs; return ``{"metrics": ..., "files": [...]}``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if focus not in {m.name for m in models} and models:
        focus = models[-1].name
    metrics = compute_metrics(splits, models, reference=focus)
    files = _plots(splits, models, out_dir, focus)
    trick_split = "evasion" if "evasion" in splits else next(iter(splits), "")
    trick_png = _trick_plot(metrics, trick_split, out_dir)
    order = [s for s in BUILD_SPLIT_ORDER if s in splits]
    md = [f"# {title}", ""]
    md += (
        ["Splits:", ""]
        + [f"- `{s}` ({len(splits[s].y)} posts): {SPLIT_NOTES.get(s, '')}" for s in order]
        + [""]
    )
    md += ["Models:", ""] + [f"- `{m.name}`: {m.note}" for m in models] + [""]
    md += [
        "## Macro-F1 per split (real_normal: share of normal posts flagged)",
        "",
        comparison_table(metrics, order),
        "",
    ]
    precision = interval_tables(metrics, order, focus)
    if precision:
        md += [
            "## How precise these figures are (bootstrap intervals)",
            "",
            PRECISION_NOTE,
            "",
            precision,
            "",
        ]
    md += [f"## `{focus}` per label", "", per_label_table(metrics.get(focus, {}), order), ""]
    md += [f"## Recall per evasion trick (`{trick_split}`)", "", trick_table(metrics, trick_split), ""]
    if "dev" in splits:
        md += ["## Recall per evasion trick (`dev`, hand-written)", "", trick_table(metrics, "dev"), ""]
    family_notes = {
        "test": "Each family is a template the model never saw in training. One family holding most misses "
        "of a label is a concept the training families do not teach, or a family whose labels follow "
        "a different convention than the training families'.",
        "evasion": "The test families again, with evasion tricks applied.",
        "real_normal": "Real text, all normal, by source corpus: every flag here is a false positive.",
    }
    for s, note in family_notes.items():
        if s in splits and metrics.get(focus, {}).get(s, {}).get("per_family_errors"):
            kind = "source" if s == "real_normal" else "generator family"
            md += [
                f"## Where `{focus}` errs on `{s}`, by {kind} (top 10)",
                "",
                note,
                "",
                family_error_table(metrics[focus], s),
                "",
            ]
    md += [f"## Expected calibration error (`{focus}`)", "", ece_table(metrics, focus, order), ""]
    if parity:
        md += [
            "## PyTorch vs ONNX parity (test split, calibrated scores, policy decisions)",
            "",
            parity_table(parity),
            "",
        ]
    if policy is not None:
        md += [
            "## Policy thresholds (chosen on validation + dev for the stated precision targets)",
            "",
            policy.thresholds_markdown(),
            "",
        ]
    top_negatives = {m.name: selection_top_negatives(splits, m) for m in models}
    if top_negatives.get(focus) is not None:
        md += [
            f"## `{focus}`'s highest scores on validation + dev that are not the label (top {TOP_SCORED})",
            "",
            "A `review` or `hide` cut needs 0.97 or 0.99 precision among the highest scores; the posts "
            'here crowd that top without the label, so many of them means no such cut ("never" above).',
            "",
            top_negatives_table(top_negatives[focus]),
            "",
            f"The same count for every model (posts without the label among its top {TOP_SCORED} per label):",
            "",
            "| model | " + " | ".join(LABELS) + " |",
            "| --- |" + " --- |" * len(LABELS),
            *[
                f"| {name} | " + " | ".join(str(per[label]["negatives"]) for label in LABELS) + " |"
                for name, per in top_negatives.items()
                if per is not None
            ],
            "",
        ]
    md += ["## Plots", ""]
    for name in files + ([trick_png] if trick_png else []):
        md.append(f"![{name}]({name})")
    (out_dir / "README.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float), encoding="utf-8")
    return {"metrics": metrics, "files": files + ([trick_png] if trick_png else [])}
