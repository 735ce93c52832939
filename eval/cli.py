"""`feedguard eval`: the text model's evaluation report (Markdown + PNG).

Scores the release (INT8 ONNX, blended with its n-gram model when it has one, the unsure posts
re-scored by its escalation model when it is a cascade, through
:func:`model.bundle.load_bundle`, calibrated and thresholded by its ``policy.json``) on
the dataset's ``test``, ``evasion`` and ``real_normal`` splits and the hand-written dev
set, and puts it next to the other models of the build that produced it (baseline,
PyTorch teacher and student, INT8 teacher and student, read from ``WORK/predictions``)
when ``--work`` is given. ``--holdout FILE`` adds labelled posts kept outside this repository
(:mod:`eval.holdout`), with or without ``--data``: the command an outside judge of a release runs
(with ``--work``, the build's n-gram baseline is scored on them too).
``--against DIR`` scores a second release on the same posts, so a candidate and the release are
compared with a paired interval (:mod:`eval.text_intervals`) rather than two figures side by side.
Bad input exits with code 2 and one line on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

app = typer.Typer(help="Evaluate the text model.", no_args_is_help=True)

#: Validation is scored too: the policy's cuts were chosen on it and dev, and the report shows what
#: crowds the top of the scores there (eval.text_report.selection_top_negatives).
SPLITS = ("test", "evasion", "real_normal", "validation")
#: Build models shown next to the release, and how their scores are read.
BUILD_MODELS = {
    "baseline": "char 1-3-gram TF-IDF + LR, threshold 0.5",
    "teacher_torch": "PyTorch FP32 teacher, raw sigmoid, threshold 0.5",
    "student_torch": "PyTorch FP32 student, raw sigmoid, threshold 0.5",
    "teacher_onnx_int8": "ONNX INT8 teacher, raw sigmoid, threshold 0.5",
    "student_onnx_int8": "ONNX INT8 student, raw sigmoid, threshold 0.5",
}


#: The report's name for the ``--against`` release.
AGAINST = "against"


def _baseline_on(work: Path, texts: list[str]) -> np.ndarray:
    """The build's n-gram baseline scored on posts its predictions do not hold (the holdout).

    The encoders' predictions cover the build's splits only; the baseline is cheap to load and
    run, and the holdout is where it says most about what the training data taught.
    """
    from model.ngram_model import NgramModel

    return NgramModel.load(work / "baseline").predict_proba(texts)


def _spread(summary: dict) -> str:
    """`` (95 % interval a–b over N families)`` for a labelled split, else nothing."""
    interval = summary.get("interval")
    if not interval or interval["figure"] != "macro_f1":
        return ""
    lo, hi = interval["interval"]
    return (
        f" ({interval['level']:.0%} interval {lo:.3f}–{hi:.3f} over {interval['units']} {interval['unit']})"
    )


def _gap(summary: dict) -> str:
    """The --against release's figure and its paired difference from the release, in one line."""
    e = summary["interval"]
    lo, hi = e["difference_interval"]
    if e["figure"] == "macro_f1":
        return (
            f"macro-F1 {e['value']:.3f}, {AGAINST} - release {e['difference']:+.3f} ({lo:+.3f} to {hi:+.3f})"
        )
    return (
        f"normal posts flagged {e['value']:.2%}, {AGAINST} - release {e['difference'] * 100:+.2f} points"
        f" ({lo * 100:+.2f} to {hi * 100:+.2f})"
    )


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@app.command("eval")
def evaluate(
    data: Annotated[
        Path | None, typer.Option("--data", help="Dataset build dir (feedguard data build --out DIR).")
    ] = None,
    holdout: Annotated[
        Path | None,
        typer.Option(
            help="JSON Lines of labelled posts kept outside this repository: 'text' and 'labels' on each"
            " line, 'id' and 'tricks' optional."
        ),
    ] = None,
    release: Annotated[Path | None, typer.Option(help="Release dir (default model/release).")] = None,
    work: Annotated[
        Path | None, typer.Option(help="The release build's work dir, to compare its other models.")
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            help="Another release dir (a candidate, or an earlier release checked out) scored on the same"
            " posts; the report gives its paired difference from --release with an interval."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Report dir (README.md + PNG + metrics.json).")] = Path(
        "eval/reports/text"
    ),
    threads: Annotated[int | None, typer.Option(help="onnxruntime threads (default: all cores).")] = None,
) -> None:
    """Write the evaluation report for the release (and the build's other models)."""
    from eval.holdout import HOLDOUT_SPLIT, load_holdout
    from eval.text_report import (
        BUILD_SPLIT_ORDER,
        ModelScores,
        has_positives,
        load_eval_splits,
        load_predictions,
        release_note,
        write_text_report,
    )
    from model.bundle import ESCALATION_FIELD, NGRAM_WEIGHT_FIELD, RELEASE_DIR, ModelBundle, load_bundle
    from model.policy import Policy

    if data is None and holdout is None:
        _fail("pass --data (a dataset build), --holdout (labelled posts as JSON Lines), or both.")
    if data is not None and not (data / "dataset" / "dataset_dict.json").is_file():
        _fail(
            f"--data must be a dataset build (DIR/dataset); got {str(data)!r} (run `feedguard data build`)."
        )
    if work is not None and not (work / "predictions").is_dir():
        _fail(f"--work must be a release build's work dir (with predictions/); got {str(work)!r}.")
    if threads is not None and threads < 1:
        _fail(f"--threads must be >= 1; got {threads}.")
    if against is not None and (release or RELEASE_DIR).resolve() == against.resolve():
        _fail("--against names the same release as --release; pass another release dir.")
    try:
        bundle = load_bundle(release or RELEASE_DIR, intra_op_threads=threads)
        policy = Policy.load(bundle.policy_path)
        other = load_bundle(against, intra_op_threads=threads) if against is not None else None
        other_policy = Policy.load(other.policy_path) if other is not None else None
        splits = load_eval_splits(data, SPLITS) if data is not None else {}
        if holdout is not None:
            splits[HOLDOUT_SPLIT] = load_holdout(holdout)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))

    def served(scorer: ModelBundle, scorer_policy: Policy) -> dict[str, np.ndarray]:
        """Scores as a feed service gets them: the bundle's logits, calibrated by its own policy."""
        return {
            name: scorer_policy.calibrate(scorer.classifier.logits(split.texts), kind="logits")
            for name, split in splits.items()
        }

    release_scores = served(bundle, policy)
    models: list[ModelScores] = []
    if work is not None:
        preds = load_predictions(work)
        for name, note in BUILD_MODELS.items():
            per_split = {s: 1.0 / (1.0 + np.exp(-v)) for s, v in preds.get(name, {}).items() if s in splits}
            ok = {s: v for s, v in per_split.items() if v.shape == splits[s].y.shape}
            if len(ok) < len(per_split):
                _fail(
                    f"--work predictions for {name} do not match the splits of --data; pass the build's own data."
                )
            if name == "baseline" and HOLDOUT_SPLIT in splits and (work / "baseline").is_dir():
                ok[HOLDOUT_SPLIT] = _baseline_on(work, splits[HOLDOUT_SPLIT].texts)
            if ok:
                models.append(ModelScores(name, ok, 0.5, note))
    role = bundle.manifest.get("model_role", "model")
    models.append(
        ModelScores(
            "release",
            release_scores,
            policy.thresholds["label"],
            release_note(
                role,
                float(bundle.manifest.get(NGRAM_WEIGHT_FIELD, 0.0)),
                bundle.manifest.get(ESCALATION_FIELD),
            ),
        )
    )
    if other is not None:
        other_role = other.manifest.get("model_role", "model")
        models.insert(
            len(models) - 1,
            ModelScores(
                AGAINST,
                served(other, other_policy),
                other_policy.thresholds["label"],
                f"{against}: "
                + release_note(
                    other_role,
                    float(other.manifest.get(NGRAM_WEIGHT_FIELD, 0.0)),
                    other.manifest.get(ESCALATION_FIELD),
                ),
            ),
        )
    result = write_text_report(splits, models, out, policy=policy)
    release_metrics = result["metrics"]["release"]
    for name in BUILD_SPLIT_ORDER:
        if name in release_metrics:
            m = release_metrics[name]
            f1 = f"macro-F1 {m['macro_f1']:.3f}" if has_positives(m) else "no seller posts (all normal)"
            typer.echo(
                f"{name}: {f1}{_spread(m)}, normal posts flagged {m['normal_flag_rate']:.2%} ({m['rows']} posts)"
            )
            if other is not None and name in result["metrics"][AGAINST]:
                typer.echo(f"  {AGAINST} {against}: {_gap(result['metrics'][AGAINST][name])}")
    typer.echo(f"report: {out / 'README.md'}")
