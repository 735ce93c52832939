"""`feedguard eval`: the text model's evaluation report (Markdown + PNG).

Scores the release (INT8 ONNX, blended with its n-gram model when it has one, the unsure posts
re-scored by its escalation model when it is a cascade, through
:func:`model.bundle.load_bundle`, calibrated and thresholded by its ``policy.json``) on
the dataset's ``test``, ``evasion`` and ``real_normal`` splits and the hand-written dev
set, and puts it next to the other models of the build that produced it (baseline,
PyTorch teacher and student, INT8 teacher and student, read from ``WORK/predictions``)
when ``--work`` is given. ``--holdout FILE`` adds labelled posts kept outside this repository
(:mod:`eval.holdout`), with or without ``--data``: the command an outside judge of a release runs.
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
    from model.bundle import ESCALATION_FIELD, NGRAM_WEIGHT_FIELD, RELEASE_DIR, load_bundle
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
    try:
        bundle = load_bundle(release or RELEASE_DIR, intra_op_threads=threads)
        policy = Policy.load(bundle.policy_path)
        splits = load_eval_splits(data, SPLITS) if data is not None else {}
        if holdout is not None:
            splits[HOLDOUT_SPLIT] = load_holdout(holdout)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    release_scores = {
        name: policy.calibrate(bundle.classifier.logits(split.texts), kind="logits")
        for name, split in splits.items()
    }
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
    result = write_text_report(splits, models, out, policy=policy)
    release_metrics = result["metrics"]["release"]
    for name in BUILD_SPLIT_ORDER:
        if name in release_metrics:
            m = release_metrics[name]
            f1 = f"macro-F1 {m['macro_f1']:.3f}" if has_positives(m) else "no seller posts (all normal)"
            typer.echo(f"{name}: {f1}, normal posts flagged {m['normal_flag_rate']:.2%} ({m['rows']} posts)")
    typer.echo(f"report: {out / 'README.md'}")
