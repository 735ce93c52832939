"""`feedguard model ...`: build the release, or run one training stage by hand.

``build`` is the one command that rebuilds ``model/release/`` from nothing (data ->
vocab -> teacher -> student -> export -> INT8 -> calibrate -> parity -> eval -> bench ->
model card); it resumes a killed run. The other verbs rerun single stages inside a
build's work dir, for experiments. Bad input exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Train, distil, calibrate and release the text model.", no_args_is_help=True)

SIZES = ("small", "default")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _check_data(data: Path | None) -> None:
    if data is not None and not (data / "dataset" / "dataset_dict.json").is_file():
        _fail(
            f"--data must be a dataset build (DIR/dataset); got {str(data)!r} (run `feedguard data build --out DIR`)."
        )


def _check_positive(name: str, value: float | None) -> None:
    if value is not None and value <= 0:
        _fail(f"{name} must be > 0; got {value}.")


DataOpt = Annotated[
    Path | None, typer.Option("--data", help="Dataset build dir (default: build one in WORK/data).")
]
WorkOpt = Annotated[
    Path | None,
    typer.Option("--work", help="Work dir for checkpoints and logs (default var/model-build/<size>)."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for data (if built), training and sampling.")]
BudgetOpt = Annotated[
    float | None,
    typer.Option("--budget-minutes", help="Training wall-clock budget in minutes (teacher + student)."),
]

LabelBagsOpt = typer.Option(
    "--label-bags",
    help="Take each 'label' threshold as the median of the cuts chosen on this many bootstrap draws of"
    " the selection posts (train.calibrate's label_bags; 0: the cut on all of them).",
)


def _check_bags(label_bags: int) -> None:
    if label_bags < 0:
        _fail(f"--label-bags must be >= 0 (0: the cut on all selection posts); got {label_bags}.")


def _check_threshold_posts(paths: list[Path] | None) -> list[Path]:
    """The --threshold-posts files, each an existing file (typer gives None when none; a file named
    twice is refused where they are read, eval.holdout.load_holdouts)."""
    paths = paths or []
    for path in paths:
        if not path.is_file():
            _fail(f"--threshold-posts must be a JSON Lines file of labelled posts; got {str(path)!r}.")
    return paths


@app.command("build")
def build(
    data: DataOpt = None,
    size: Annotated[
        str, typer.Option(help="Dataset size to build when --data is not given: small|default.")
    ] = "default",
    out: Annotated[Path | None, typer.Option(help="Release dir (default model/release).")] = None,
    work: WorkOpt = None,
    report: Annotated[Path | None, typer.Option(help="Evaluation report dir (default WORK/report).")] = None,
    budget_minutes: BudgetOpt = None,
    seed: SeedOpt = 13,
    teacher_layers: Annotated[int, typer.Option(help="Teacher encoder layers (12 = all of e5-small).")] = 12,
    student_layers: Annotated[
        int, typer.Option(help="Student encoder layers, taken from the teacher's.")
    ] = 4,
    student_pick: Annotated[
        str,
        typer.Option(help="Which teacher layers the student keeps: spread (evenly) or bottom (the first N)."),
    ] = "spread",
    student_tolerance: Annotated[
        float,
        typer.Option(
            help="Release the student unless its selection macro-F1 is this much below the teacher's"
            " (raise it to trade quality for speed; a negative value asks the student to lead by that"
            " much, and -1 releases the teacher; a finished build re-chooses in minutes)."
        ),
    ] = 0.01,
    distill_alpha: Annotated[
        float | None,
        typer.Option(
            help="Weight of the teacher's soft labels in the student's loss, the rest on the hard labels"
            " (default: train.release.ReleaseConfig's)."
        ),
    ] = None,
    distill_splice: Annotated[
        float | None,
        typer.Option(
            help="Spliced posts (train.augment) added to each student batch, as a share of the batch size;"
            " the teacher labels them (default: train.release.ReleaseConfig's, none)."
        ),
    ] = None,
    distill_embed: Annotated[
        float | None,
        typer.Option(
            help="Weight of matching the teacher's post embedding (the vector its head reads) in the"
            " student's loss (default: train.release.ReleaseConfig's, none)."
        ),
    ] = None,
    distill_repeat: Annotated[
        str | None,
        typer.Option(
            help="Training sources the student sees more than once per pass, SOURCE=TIMES[,SOURCE=TIMES]"
            " (e.g. handwritten=4: the hand-written posts of `feedguard data build --handwritten`);"
            " default: each row once."
        ),
    ] = None,
    quantization: Annotated[
        str,
        typer.Option(
            help="INT8 activation rounding: dynamic (scaled per call, so a post's score moves with its"
            " batch-mates), static (scales fixed at export from training posts) or per-token (each"
            " token's activations scaled alone)."
        ),
    ] = "dynamic",
    ffn_weights: Annotated[
        str,
        typer.Option(
            help="Storage of the FFN down-projection weights (computed FP32 under every quantization):"
            " fp32, or int8 (blocks of 32 rows per scale; a 12-layer model 50 -> 30 MB)."
        ),
    ] = "fp32",
    label_weights: Annotated[
        str | None,
        typer.Option(
            help="Weights of the labels' loss terms for teacher and student, LABEL=WEIGHT[,LABEL=WEIGHT]"
            " (e.g. fake_proof=2; labels not named weigh 1; scaled to mean 1); default: all the same."
        ),
    ] = None,
    teacher_repeat: Annotated[
        str | None,
        typer.Option(
            help="Training sources the teacher (and any extra teacher) sees more than once per pass,"
            " SOURCE=TIMES[,SOURCE=TIMES] as --distill-repeat; default: each row once."
        ),
    ] = None,
    extra_teachers: Annotated[
        int,
        typer.Option(
            help="Teachers trained besides the release's, seeded --seed+1, --seed+2, ...; the student learns"
            " the mean of all the teachers' logits (train.teacher_mean). Each costs a teacher's training again."
        ),
    ] = 0,
    student_seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the student's training alone (default: --seed); retrains the student on a cached"
            " teacher, to see how far its figures move by chance."
        ),
    ] = None,
    student_minutes: Annotated[
        float | None,
        typer.Option(
            help="Wall-clock minutes for the student alone, in place of its share of --budget-minutes; the"
            " teacher's budget and cached stage stay as they were (default: that share)."
        ),
    ] = None,
    student_ema: Annotated[
        float | None,
        typer.Option(
            help="Keep a moving average of the student's weights with this decay (train.averaging) and"
            " select and release it instead of the raw weights (default: train.release.ReleaseConfig's, none)."
        ),
    ] = None,
    escalate_band: Annotated[
        float | None,
        typer.Option(
            help="Make the release a cascade: posts where some label's student logit is within this of 0"
            " are re-scored by the teacher (model.text_cascade; ships both models; default: none)."
        ),
    ] = None,
    max_length: Annotated[int, typer.Option(help="Token limit for training and serving.")] = 128,
    max_steps: Annotated[
        int | None,
        typer.Option(
            help="Cap on optimizer steps per training run (teacher and student). Without --budget-minutes"
            " the runs train exactly this many steps (unless early stopping ends them), on any machine."
        ),
    ] = None,
    student_max_steps: Annotated[
        int | None,
        typer.Option(
            help="Cap on the student's optimizer steps alone, in place of --max-steps (default: --max-steps);"
            " with --max-steps and no --budget-minutes, a build that trains the same steps on any host."
        ),
    ] = None,
    eval_every: Annotated[int, typer.Option(help="Evaluate on validation + dev every N steps.")] = 200,
    patience: Annotated[
        int | None,
        typer.Option(
            help="Stop a run after this many evaluations without a better selection score (default:"
            " train.release.ReleaseConfig's, 8); a step-capped build's decay is fixed from the start, so"
            " it can plateau and stop well before its cap (session 38's teacher, at 4,800 of 5,325)."
        ),
    ] = None,
    epochs: Annotated[float, typer.Option(help="Upper bound on passes over train, per training run.")] = 3.0,
    blend: Annotated[
        bool,
        typer.Option(
            help="Let the build blend the n-gram baseline into the release when that scores better on the"
            " selection sets (--no-blend: the encoder alone)."
        ),
    ] = True,
    bench: Annotated[bool, typer.Option(help="Run the speed benchmark for the model card.")] = True,
    rebench: Annotated[
        bool,
        typer.Option(
            help="Re-run a finished benchmark (e.g. once the machine is idle) and rewrite the card."
        ),
    ] = False,
    threads: Annotated[
        int | None,
        typer.Option(help="CPU threads for training/prediction (default: all; 1 on a busy shared machine)."),
    ] = None,
    label_bags: Annotated[int, LabelBagsOpt] = 0,
    threshold_posts: Annotated[
        list[Path] | None,
        typer.Option(
            help="Hand-written posts (JSON Lines, `feedguard eval --holdout`'s format) that only set the"
            " thresholds, as a third selection source beside validation and dev; repeat for several"
            " files, read as one source (default: none)."
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Rebuild the release end to end (resumes a killed build from its work dir)."""
    from train.distill import STUDENT_PICKS
    from train.release import FFN_WEIGHTS, POLICY_FILE, QUANTIZATIONS, ReleaseConfig, build_release

    if size not in SIZES:
        _fail(f"--size must be one of {', '.join(SIZES)}; got {size!r}.")
    _check_data(data)
    _check_positive("--budget-minutes", budget_minutes)
    _check_positive("--student-minutes", student_minutes)
    _check_positive("--max-steps", max_steps)
    _check_positive("--student-max-steps", student_max_steps)
    _check_positive("--eval-every", eval_every)
    _check_positive("--patience", patience)
    _check_positive("--epochs", epochs)
    if not 0 < student_layers <= teacher_layers <= 12:
        _fail(
            f"--student-layers and --teacher-layers must satisfy 0 < student <= teacher <= 12; got "
            f"{student_layers} and {teacher_layers}."
        )
    _check_positive("--threads", threads)
    _check_bags(label_bags)
    threshold_posts = _check_threshold_posts(threshold_posts)
    if quantization not in QUANTIZATIONS:
        _fail(f"--quantization must be one of {', '.join(QUANTIZATIONS)}; got {quantization!r}.")
    if ffn_weights not in FFN_WEIGHTS:
        _fail(f"--ffn-weights must be one of {', '.join(FFN_WEIGHTS)}; got {ffn_weights!r}.")
    if student_pick not in STUDENT_PICKS:
        _fail(f"--student-pick must be one of {', '.join(STUDENT_PICKS)}; got {student_pick!r}.")
    if not -1 <= student_tolerance <= 1:
        _fail(f"--student-tolerance must be in -1..1 (a macro-F1 difference); got {student_tolerance}.")
    if distill_alpha is not None and not 0 <= distill_alpha <= 1:
        _fail(f"--distill-alpha must be in 0..1 (1: soft labels only); got {distill_alpha}.")
    if distill_embed is not None and not 0 <= distill_embed <= 100:
        _fail(f"--distill-embed must be in 0..100 (0: no embedding matching); got {distill_embed}.")
    if not 0 <= extra_teachers <= 4:
        _fail(f"--extra-teachers must be in 0..4 (0: the release's teacher alone); got {extra_teachers}.")
    if extra_teachers and distill_embed:
        _fail("--distill-embed matches one teacher's post embedding; leave it out with --extra-teachers.")
    if student_ema is not None and not 0 <= student_ema < 1:
        _fail(
            f"--student-ema must be in [0, 1) (0: no averaging; 0.999 averages ~1,000 steps); got {student_ema}."
        )
    if distill_splice is not None and not 0 <= distill_splice <= 4:
        _fail(f"--distill-splice must be in 0..4 (spliced posts per batch post); got {distill_splice}.")
    if escalate_band is not None and not 0 < escalate_band <= 20:
        _fail(
            f"--escalate-band must be in (0, 20] (a logit distance; 1 is p 0.27-0.73); got {escalate_band}."
        )
    if not 8 <= max_length <= 512:
        _fail(f"--max-length must be in 8..512; got {max_length}.")
    source_repeat = _source_repeat(distill_repeat, "--distill-repeat")
    teacher_source_repeat = _source_repeat(teacher_repeat, "--teacher-repeat")
    loss_weights = _label_weights(label_weights)
    base = ReleaseConfig()
    config = replace(
        base,
        size=size,
        seed=seed,
        student_seed=student_seed,
        extra_teachers=extra_teachers,
        budget_minutes=budget_minutes,
        student_minutes=student_minutes,
        teacher_layers=teacher_layers,
        student_layers=student_layers,
        student_pick=student_pick,
        student_tolerance=student_tolerance,
        teacher=replace(
            base.teacher,
            max_length=max_length,
            max_steps=max_steps,
            eval_every=eval_every,
            epochs=epochs,
            patience=base.teacher.patience if patience is None else patience,
            source_repeat=base.teacher.source_repeat
            if teacher_source_repeat is None
            else teacher_source_repeat,
            label_weights=loss_weights,
        ),
        student=replace(
            base.student,
            max_length=max_length,
            max_steps=max_steps if student_max_steps is None else student_max_steps,
            eval_every=eval_every,
            epochs=epochs,
            patience=base.student.patience if patience is None else patience,
            distill_alpha=base.student.distill_alpha if distill_alpha is None else distill_alpha,
            distill_splice=base.student.distill_splice if distill_splice is None else distill_splice,
            distill_embed=base.student.distill_embed if distill_embed is None else distill_embed,
            ema_decay=base.student.ema_decay if student_ema is None else student_ema,
            source_repeat=base.student.source_repeat if source_repeat is None else source_repeat,
            label_weights=loss_weights,
        ),
        ngram_weights=base.ngram_weights if blend else (0.0,),
        escalate_band=escalate_band,
        quantization=quantization,
        ffn_weights=ffn_weights,
        calibration=replace(base.calibration, label_bags=label_bags),
        threshold_posts=tuple(str(path) for path in threshold_posts),
        bench=bench,
        threads=threads,
    )
    work_dir = work or Path("var/model-build") / size
    if rebench:
        (work_dir / "stages" / "bench.json").unlink(missing_ok=True)
    try:
        release = build_release(data, out, work_dir, config, report_dir=report, progress=progress)
    except ValueError as err:
        _fail(str(err))
    typer.echo(f"release written to {release} (model card: {release / 'MODEL_CARD.md'})")
    _warn_missing_cuts(release / POLICY_FILE)


def _source_repeat(text: str | None, flag: str) -> tuple[tuple[str, int], ...] | None:
    """``handwritten=4,moderator=2`` (the value of ``flag``) as TrainConfig.source_repeat; a bad value exits 2."""
    if text is None:
        return None
    pairs: list[tuple[str, int]] = []
    for item in text.split(","):
        source, _, times = item.strip().partition("=")
        if not source.strip() or not times.strip().isdigit() or not 1 <= int(times) <= 100:
            _fail(
                f"{flag} takes SOURCE=TIMES[,SOURCE=TIMES] with TIMES in 1..100"
                f" (e.g. handwritten=4); got {text!r}."
            )
        pairs.append((source.strip(), int(times)))
    if len({source for source, _ in pairs}) != len(pairs):
        _fail(f"{flag} names a source twice; got {text!r}.")
    return tuple(pairs)


def _label_weights(text: str | None) -> tuple[float, ...]:
    """``fake_proof=2`` (the value of --label-weights) as TrainConfig.label_weights; a bad value exits 2."""
    from model.labels import LABELS

    if text is None:
        return ()
    weights = dict.fromkeys(LABELS, 1.0)
    named: list[str] = []
    for item in text.split(","):
        label, _, value = (part.strip() for part in item.partition("="))
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if label not in weights or label in named or not 0 < weight <= 10:
            _fail(
                f"--label-weights takes LABEL=WEIGHT[,LABEL=WEIGHT] with each label of {', '.join(LABELS)}"
                f" at most once and WEIGHT in (0, 10] (e.g. fake_proof=2); got {text!r}."
            )
        weights[label] = weight
        named.append(label)
    return tuple(weights.values())


def _warn_missing_cuts(policy_path: Path) -> None:
    """Say on stderr which actions the new release never takes, before anyone publishes it."""
    from model.policy import Policy

    for action, label in Policy.load(policy_path).missing_cuts():
        typer.echo(
            f"warning: the policy has no {action!r} threshold for {label!r} (its precision target was not met on"
            f" validation + dev), so a {label} score alone never makes this release {action} a post; see the model card.",
            err=True,
        )


@app.command("baseline")
def baseline(
    data: Annotated[Path, typer.Option("--data", help="Dataset build dir.")],
    out: Annotated[Path | None, typer.Option(help="Where to save the fitted baseline (JSON + npz).")] = None,
) -> None:
    """Fit the char n-gram TF-IDF + LR baseline on train; print macro-F1 on validation/test/evasion."""
    from eval.text_metrics import label_metrics
    from train.baseline import NgramBaseline
    from train.dataset import load_splits

    _check_data(data)
    splits = load_splits(data)
    model = NgramBaseline().fit(splits["train"].texts, splits["train"].y)
    if out is not None:
        model.save(out)
    for name in ("validation", "test", "evasion"):
        m = label_metrics(splits[name].y, model.predict_proba(splits[name].texts), 0.5)
        typer.echo(f"{name}: macro-F1 {m['macro_f1']:.3f} ({m['rows']} posts)")


def _work_or_fail(work: Path) -> Path:
    if not (work / "tokenizer").is_dir():
        _fail(
            f"--work must be a build work dir with a tokenizer/ (run `feedguard model build` first); got {str(work)!r}."
        )
    return work


@app.command("train-teacher")
def train_teacher(
    data: Annotated[Path, typer.Option("--data", help="Dataset build dir.")],
    work: Annotated[
        Path, typer.Option("--work", help="Build work dir (tokenizer/ and keep_ids.npy from a build).")
    ],
    out: Annotated[Path | None, typer.Option(help="Run dir (default WORK/teacher-manual).")] = None,
    layers: Annotated[int, typer.Option(help="Encoder layers (12 = all).")] = 12,
    budget_minutes: BudgetOpt = None,
    max_steps: Annotated[int | None, typer.Option(help="Cap on optimizer steps.")] = None,
    seed: SeedOpt = 13,
    resume: Annotated[bool, typer.Option(help="Resume from the newest matching checkpoint.")] = True,
) -> None:
    """Fine-tune a teacher in an existing build work dir (the build does this itself)."""
    import numpy as np

    from model.tokenizer import PostTokenizer
    from train.dataset import load_dev_split, load_splits
    from train.finetune import TrainConfig, build_teacher, run_fingerprint, train_classifier

    _check_data(data)
    _work_or_fail(work)
    _check_positive("--budget-minutes", budget_minutes)
    splits = load_splits(data)
    dev = load_dev_split()
    selection = {"validation": splits["validation"], **({"dev": dev} if dev is not None else {})}
    config = TrainConfig(
        seed=seed, max_steps=max_steps, time_budget_s=budget_minutes * 60 if budget_minutes else None
    )
    keep = np.load(work / "keep_ids.npy", allow_pickle=False)
    try:
        module = build_teacher(keep, layers, seed=seed)
    except ValueError as err:
        _fail(str(err))
    fp = run_fingerprint(config, data=str(data), layers=layers)
    result = train_classifier(
        module,
        PostTokenizer.load(work / "tokenizer"),
        splits["train"],
        selection,
        config,
        out or work / "teacher-manual",
        resume=resume,
        fingerprint=fp,
    )
    typer.echo(json.dumps({k: v for k, v in result.to_dict().items() if k != "history"}, indent=1))


@app.command("distill")
def distill(
    data: Annotated[Path, typer.Option("--data", help="Dataset build dir.")],
    work: Annotated[Path, typer.Option("--work", help="Build work dir (tokenizer/ and a teacher).")],
    teacher: Annotated[
        Path | None, typer.Option(help="Teacher module dir (default WORK/teacher/best).")
    ] = None,
    layers: Annotated[int, typer.Option(help="Student encoder layers, spread over the teacher's.")] = 4,
    out: Annotated[Path | None, typer.Option(help="Run dir (default WORK/student-<layers>).")] = None,
    budget_minutes: BudgetOpt = None,
    max_steps: Annotated[int | None, typer.Option(help="Cap on optimizer steps.")] = None,
    seed: SeedOpt = 13,
    resume: Annotated[bool, typer.Option(help="Resume from the newest matching checkpoint.")] = True,
) -> None:
    """Distil a student from a trained teacher (the build does this itself)."""
    from model.tokenizer import PostTokenizer
    from train.dataset import load_dev_split, load_splits
    from train.distill import distill_student
    from train.finetune import TrainConfig, run_fingerprint

    _check_data(data)
    _work_or_fail(work)
    _check_positive("--budget-minutes", budget_minutes)
    teacher_dir = teacher or work / "teacher" / "best"
    if not (teacher_dir / "config.json").is_file():
        _fail(f"--teacher must be a saved module dir (config.json); got {str(teacher_dir)!r}.")
    splits = load_splits(data)
    dev = load_dev_split()
    selection = {"validation": splits["validation"], **({"dev": dev} if dev is not None else {})}
    config = TrainConfig(
        seed=seed,
        max_steps=max_steps,
        learning_rate=1e-4,
        time_budget_s=budget_minutes * 60 if budget_minutes else None,
    )
    fp = run_fingerprint(config, data=str(data), teacher=str(teacher_dir), layers=layers)
    try:
        result = distill_student(
            teacher_dir,
            PostTokenizer.load(work / "tokenizer"),
            splits["train"],
            selection,
            layers,
            config,
            out or work / f"student-{layers}",
            resume=resume,
            fingerprint=fp,
        )
    except ValueError as err:
        _fail(str(err))
    typer.echo(json.dumps({k: v for k, v in result.to_dict().items() if k != "history"}, indent=1))


@app.command("calibrate")
def calibrate(
    data: Annotated[Path, typer.Option("--data", help="Dataset build dir (its validation split is used).")],
    model: Annotated[
        Path, typer.Option("--model", help="ONNX model to calibrate (the one that will be served).")
    ],
    tokenizer: Annotated[Path, typer.Option("--tokenizer", help="Dir with tokenizer.json + char_map.json.")],
    out: Annotated[Path, typer.Option(help="policy.json to write.")],
    max_length: Annotated[int, typer.Option(help="Token limit, as in the release.")] = 128,
    label_precision: Annotated[
        float | None,
        typer.Option(help="Precision target of the 'label' action (default: the cut with the best F1)."),
    ] = None,
    review_precision: Annotated[float, typer.Option(help="Precision target of 'review'.")] = 0.97,
    hide_precision: Annotated[float, typer.Option(help="Precision target of 'hide'.")] = 0.99,
    method: Annotated[str, typer.Option(help="platt | temperature | identity.")] = "platt",
    label_bags: Annotated[int, LabelBagsOpt] = 0,
) -> None:
    """Fit calibration + thresholds on validation + dev for a model; write the policy file."""
    import numpy as np

    from model.onnx_classifier import OnnxTextClassifier
    from model.tokenizer import PostTokenizer
    from train.calibrate import CalibrationConfig, build_policy
    from train.dataset import concat, load_dev_split, load_splits

    _check_data(data)
    if not model.is_file():
        _fail(f"--model must be an existing .onnx file; got {str(model)!r}.")
    if not (tokenizer / "tokenizer.json").is_file():
        _fail(f"--tokenizer must be a dir with tokenizer.json; got {str(tokenizer)!r}.")
    _check_bags(label_bags)
    try:
        cal = CalibrationConfig(
            label_precision=label_precision,
            review_precision=review_precision,
            hide_precision=hide_precision,
            method=method,
            label_bags=label_bags,
        )
    except ValueError as err:
        _fail(str(err))
    parts = [load_splits(data, ("validation",))["validation"]]
    dev = load_dev_split()
    if dev is not None:
        parts.append(dev)
    try:
        clf = OnnxTextClassifier(model, PostTokenizer.load(tokenizer), max_length)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    logits = np.concatenate([clf.logits(p.texts) for p in parts])
    groups = [p.name for p in parts for _ in range(len(p))]
    policy = build_policy(
        logits,
        concat("selection", parts).y,
        groups,
        cal,
        chosen_on={"model": str(model), "splits": [p.name for p in parts]},
    )
    policy.save(out)
    typer.echo(policy.thresholds_markdown())
    typer.echo(f"wrote {out}")


def _echo_figures(result: dict, against: str) -> None:
    """One line per split: the new release's headline figure and its gap to the release it came from."""
    for split, summary in (result.get("figures") or {}).get("release", {}).items():
        entry = summary.get("interval", {})
        gap = entry.get("difference")
        typer.echo(
            f"{split}: {entry.get('figure', 'macro_f1')} {entry.get('value', summary['macro_f1']):.4f}"
            + (f" ({gap:+.4f} vs {against})" if gap is not None else "")
        )


#: Test posts `shrink` and `cascade` time both releases on for the card unless told (the command line the
#: card names omits it then).
CARD_BENCH_POSTS = 512


#: `shrink`'s and `cascade`'s --quiet-below (the wait is eval.bench_text's, 10 minutes at most).
QuietBelow = Annotated[
    float | None,
    typer.Option(
        help="Start the card's timing run only once the 1-minute load average is under this"
        " (waits up to 10 minutes; default: at once)."
    ),
]


def _check_card_timing(threads: int | None, bench_posts: int, quiet_below: float | None) -> str:
    """Refuse bad timing options; return what the card's command line adds for them."""
    if threads is not None and threads < 1:
        _fail(f"--threads must be >= 1; got {threads}.")
    if bench_posts < 0:
        _fail(f"--bench-posts must be >= 0; got {bench_posts}.")
    if quiet_below is not None and quiet_below <= 0:
        _fail(f"--quiet-below must be > 0 (a 1-minute load average); got {quiet_below}.")
    return f" --quiet-below {quiet_below:g}" if quiet_below is not None and bench_posts else ""


def _card_bench_texts(splits: dict | None, bench_posts: int) -> list[str]:
    """The test posts a derived release's card times it on: the same draw for every command."""
    from eval.bench_text import draw_posts

    return draw_posts(splits["test"].texts, bench_posts, seed=13) if splits and bench_posts else []


@app.command("shrink")
def shrink(
    out: Annotated[
        Path, typer.Option(help="Folder for the shrunk release: new, empty, or a release to replace.")
    ],
    release: Annotated[Path, typer.Option(help="The release to shrink (left as it is).")] = Path(
        "model/release"
    ),
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Dataset build whose splits (and the dev set) both releases are scored on for the card.",
        ),
    ] = None,
    threads: Annotated[int | None, typer.Option(help="onnxruntime threads (default: all cores).")] = None,
    bench_posts: Annotated[
        int, typer.Option(help="Test posts of --data to time both releases on for the card (0: no timing).")
    ] = CARD_BENCH_POSTS,
    quiet_below: QuietBelow = None,
) -> None:
    """Rewrite a release with its FFN down-projection weights stored INT8 and its n-gram weights float32.

    Same model (onnxruntime folds the INT8-stored weights back to FP32 at load), same policy file;
    a 12-layer release goes from about 60 to under 40 MB. The card gives the re-measured figures
    when --data is passed and keeps the source's card below.
    """
    from data.manifest import code_version
    from eval.cli import SPLITS
    from eval.text_report import load_eval_splits
    from train.shrink import shrink_release

    _check_data(data)
    quiet = _check_card_timing(threads, bench_posts, quiet_below)
    command = f"feedguard model shrink --release {release} --out {out}" + (f" --data {data}" if data else "")
    if data and bench_posts != CARD_BENCH_POSTS:
        command += f" --bench-posts {bench_posts}"
    if data:
        command += quiet
    try:
        splits = load_eval_splits(data, SPLITS) if data is not None else None
        result = shrink_release(
            release,
            out,
            splits=splits,
            bench_texts=_card_bench_texts(splits, bench_posts),
            threads=threads,
            quiet_below=quiet_below,
            command=command,
            code_version=code_version(),
        )
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    except TimeoutError as err:
        _fail(f"no card timing: {err}")
    typer.echo(f"wrote {out}: {result['size_mb']:.1f} MB (the source {result['source_mb']:.1f} MB)")
    _echo_figures(result, "the source")


@app.command("cascade")
def cascade(
    fast: Annotated[Path, typer.Option(help="The release that scores every post (left as it is).")],
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Dataset build: its validation split and the dev set fit the cascade's policy; its splits are"
            " scored for the card.",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder for the cascade: new, empty, or a release to replace.")],
    slow: Annotated[
        Path,
        typer.Option(help="The release that re-scores the posts the fast one is unsure of (left as it is)."),
    ],
    threshold_posts: Annotated[
        list[Path] | None,
        typer.Option(
            help="Labelled posts (JSON Lines) the policy is also fitted on, as the build's option;"
            " repeat for several files."
        ),
    ] = None,
    lower: Annotated[
        float,
        typer.Option(
            help="How far below a fast 'label' cut, in calibrated log-odds, a post still escalates."
        ),
    ] = 2.0,
    upper: Annotated[
        float,
        typer.Option(
            help="How far above a fast 'label' cut, in calibrated log-odds, a post still escalates."
        ),
    ] = 1.0,
    embedding_bits: Annotated[
        int,
        typer.Option(
            help="Bits per value of the word-embedding table both models read: 8 as the sources store it,"
            " or 4 (blocks of 32 per row; 2.7 MB less, the table rounded)."
        ),
    ] = 8,
    threads: Annotated[int | None, typer.Option(help="onnxruntime threads (default: all cores).")] = None,
    bench_posts: Annotated[
        int,
        typer.Option(help="Test posts of --data to time the cascade and the slow release on (0: no timing)."),
    ] = CARD_BENCH_POSTS,
    bench_work: Annotated[
        Path | None,
        typer.Option(
            help="A build's work dir whose PyTorch teacher is timed beside them, for the speed-up column."
        ),
    ] = None,
    quiet_below: QuietBelow = None,
) -> None:
    """Compose two releases into a cascade: --fast on every post, --slow on the posts near a fast cut.

    Nothing is trained: the model files are the sources'; one new policy is fitted on the cascade's
    logits over validation, the dev set and the threshold posts. Both sources must share one
    tokenizer, normalizer table and n-gram model.
    """
    from data.manifest import code_version
    from eval.cli import SPLITS
    from eval.holdout import HoldoutError, load_holdouts
    from eval.text_report import load_eval_splits
    from train.cascade import compose_cascade
    from train.dataset import data_manifest_sha256
    from train.release import THRESHOLD_SOURCE, threshold_post_record

    _check_data(data)
    for name, value in (("--lower", lower), ("--upper", upper)):
        if not 0 < value <= 20:
            _fail(
                f"{name} must be in (0, 20] (calibrated log-odds; 1 is about p x2.7 from the cut); got {value}."
            )
    quiet = _check_card_timing(threads, bench_posts, quiet_below)
    if bench_work is not None and not (bench_work / "tokenizer").is_dir():
        _fail(f"--bench-work must be a release build's work dir (WORK/tokenizer); got {str(bench_work)!r}.")
    if embedding_bits not in (4, 8):
        _fail(f"--embedding-bits must be 8 (as the sources store the table) or 4; got {embedding_bits}.")
    threshold_posts = _check_threshold_posts(threshold_posts)
    command = f"feedguard model cascade --fast {fast} --slow {slow} --data {data} --out {out}" + "".join(
        f" --threshold-posts {path}" for path in threshold_posts
    )
    command += f" --lower {lower:g} --upper {upper:g}"
    if embedding_bits != 8:
        command += f" --embedding-bits {embedding_bits}"
    if bench_posts != CARD_BENCH_POSTS:
        command += f" --bench-posts {bench_posts}"
    if bench_work is not None and bench_posts:
        command += f" --bench-work {bench_work}"
    command += quiet
    try:
        splits = load_eval_splits(data, SPLITS)
        selection = {name: splits[name] for name in ("validation", "dev") if name in splits}
        chosen_on: dict = {"data_manifest_sha256": data_manifest_sha256(data)}
        if threshold_posts:
            selection[THRESHOLD_SOURCE] = load_holdouts(threshold_posts)
            chosen_on["threshold_posts"] = threshold_post_record(threshold_posts)
        result = compose_cascade(
            fast,
            slow,
            out,
            lower=lower,
            upper=upper,
            embedding_bits=embedding_bits,
            selection=selection,
            splits=splits,
            bench_texts=_card_bench_texts(splits, bench_posts),
            bench_work=bench_work,
            threads=threads,
            quiet_below=quiet_below,
            command=command,
            code_version=code_version(),
            chosen_on=chosen_on,
        )
    except HoldoutError as err:
        _fail(f"--threshold-posts: {err}")
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    except TimeoutError as err:
        _fail(f"no card timing: {err}")
    typer.echo(f"wrote {out}: {result['size_mb']:.1f} MB on disk, {result['loaded_mb']:.1f} MB loaded")
    typer.echo("escalated: " + ", ".join(f"{k} {v:.1%}" for k, v in result["escalated"].items()))
    _echo_figures(result, "the slow release")
    bench = (result.get("bench") or {}).get("models", {})
    for name, stats in bench.items():
        ratio = stats.get("speedup_vs_torch_teacher")
        typer.echo(
            f"{name}: {stats['posts_per_s_batch32']:.0f} posts/s"
            + (f" ({ratio:.1f}x PyTorch)" if ratio else "")
        )
