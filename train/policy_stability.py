"""How far a build's calibration and thresholds alone move its test and evasion figures.

Why this exists: a release's macro-F1 is read at its policy's `label` thresholds, which the build
fits (calibration, then precision-targeted cuts, :func:`train.calibrate.build_policy`) on the
selection sets: the generator's validation split and the few hundred hand-written dev posts.
Session 26 met two builds whose encoders differed only by weight rounding, level at a plain 0.5
cut, that read 0.02 apart on test and evasion after that step. This refits the policy on
bootstrap resamples of the selection sets (each resampled within itself) from a build's saved
INT8 predictions at the blend it released, and reports the spread of test and evasion macro-F1.
No holdout is read, and nothing is trained.

Not a test (no threshold is claimed): a figure for train/EXPERIMENTS.md, reproduced by
``python -m train.policy_stability --work var/model-build/r24 --data var/data/hand3 --resamples 100``
(add ``--label-bags 200`` for the spread of bagged label thresholds, train.calibrate's ``label_bags``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from eval.text_metrics import label_metrics
from model.text_ensemble import blend_logits
from train.calibrate import CalibrationConfig, build_policy
from train.release import POLICY_FILE, THRESHOLD_LOGITS_FILE, THRESHOLD_SOURCE, recorded_threshold_files

#: (logits, labels) of one split: ``(n, len(LABELS))`` each.
Scored = tuple[np.ndarray, np.ndarray]


def policy_spread(
    selection: Mapping[str, Scored],
    scored: Mapping[str, Scored],
    *,
    resamples: int = 100,
    seed: int = 0,
    config: CalibrationConfig | None = None,
) -> dict[str, Any]:
    """Macro-F1 of each ``scored`` split at 0.5, under the policy fitted on all of ``selection``, and
    its spread over policies fitted on ``resamples`` bootstrap draws of ``selection``."""
    if not selection or not scored:
        raise ValueError(
            "The 'selection' and 'scored' parameters of policy_spread must name at least one split each."
        )
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 2:
        raise ValueError(
            f"The 'resamples' parameter of policy_spread must be an int >= 2; got {resamples!r} instead."
        )
    for name, (logits, y) in {**selection, **scored}.items():
        if np.shape(logits) != np.shape(y) or len(y) == 0:
            raise ValueError(
                f"Split {name!r} must hold logits and labels of one non-empty shape; got {np.shape(logits)} and {np.shape(y)}."
            )

    def fit_and_score(rows: Mapping[str, np.ndarray]) -> dict[str, float]:
        policy = build_policy(
            np.concatenate([selection[s][0][rows[s]] for s in selection]),
            np.concatenate([selection[s][1][rows[s]] for s in selection]),
            [s for s in selection for _ in rows[s]],
            config or CalibrationConfig(),
        )
        return {
            name: label_metrics(y, policy.calibrate(logits, kind="logits"), policy.thresholds["label"])[
                "macro_f1"
            ]
            for name, (logits, y) in scored.items()
        }

    rng = np.random.default_rng(seed)
    draws = [
        fit_and_score({s: rng.integers(0, len(y), len(y)) for s, (_, y) in selection.items()})
        for _ in range(resamples)
    ]
    full = fit_and_score({s: np.arange(len(y)) for s, (_, y) in selection.items()})
    out: dict[str, Any] = {"resamples": resamples, "seed": seed}
    for name, (logits, y) in scored.items():
        values = np.array([d[name] for d in draws])
        out[name] = {
            "at_0.5": label_metrics(y, 1.0 / (1.0 + np.exp(-logits)), 0.5)["macro_f1"],
            "policy": full[name],
            "resampled_mean": float(values.mean()),
            "resampled_sd": float(values.std(ddof=1)),
            "resampled_p05": float(np.quantile(values, 0.05)),
            "resampled_p95": float(np.quantile(values, 0.95)),
        }
    return out


def _threshold_posts(work: Path) -> Scored | None:
    """The build's threshold posts as its calibrate stage scored them, or None when it had none."""
    from eval.holdout import load_holdouts
    from model.bundle import sha256_file

    policy_path = work / POLICY_FILE
    recorded = (
        json.loads(policy_path.read_text(encoding="utf-8")).get("chosen_on", {}).get(THRESHOLD_SOURCE)
        if policy_path.is_file()
        else None
    )
    files = recorded_threshold_files(recorded)
    if not files:
        return None
    paths = [Path(file["path"]) for file in files]
    for path, file in zip(paths, files, strict=True):
        if not path.is_file() or sha256_file(path) != file["sha256"]:
            _fail(f"{path} is missing or changed since {work} was calibrated on it; rebuild that work dir.")
    return np.load(work / THRESHOLD_LOGITS_FILE), load_holdouts(paths).y


app = typer.Typer(
    help="Spread of a build's test/evasion figures over refitted thresholds.", add_completion=False
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def main(
    work: Annotated[Path, typer.Option(help="A finished `feedguard model build` work dir.")],
    data: Annotated[Path, typer.Option(help="The dataset build it was trained on.")],
    resamples: Annotated[int, typer.Option(help="Bootstrap draws of the selection sets.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the draws.")] = 0,
    label_bags: Annotated[
        int,
        typer.Option(
            help="Fit each draw's label thresholds as a build with --label-bags does (0: the build default)."
        ),
    ] = 0,
) -> None:
    """Print one JSON line: the build's role and blend, and per split the figures of :func:`policy_spread`."""
    from eval.text_report import BLEND_FILE, load_predictions
    from train.dataset import DEV_SPLIT, load_dev_split, load_splits

    blend_path = work / BLEND_FILE
    if not blend_path.is_file():
        _fail(f"{blend_path} is missing; pass --work a build dir whose blend stage finished.")
    if resamples < 2:
        _fail(f"--resamples must be >= 2; got {resamples}.")
    if label_bags < 0:
        _fail(f"--label-bags must be >= 0; got {label_bags}.")
    blend = json.loads(blend_path.read_text(encoding="utf-8"))
    if blend.get("escalation"):
        _fail(f"{work} released a cascade (--escalate-band), whose scores its saved predictions do not hold.")
    role, weight = blend["role"], float(blend["ngram_weight"])
    try:
        splits = load_splits(data, ["validation", "test", "evasion"])
    except (FileNotFoundError, ValueError) as err:
        _fail(f"--data: {err}")
    dev = load_dev_split()
    if dev is not None:
        splits[DEV_SPLIT] = dev
    preds = load_predictions(work)
    model = f"{role}_onnx_int8"
    if model not in preds or "baseline" not in preds:
        _fail(f"{work / 'predictions'} lacks {model} or baseline; let the build's predict stage finish.")

    def logits_and_labels(name: str) -> Scored:
        return blend_logits(preds[model][name], preds["baseline"][name], weight), splits[name].y

    # The build's selection sets (train.release's Build.selection): validation and, when present, dev;
    # and the threshold posts when the build had them (--threshold-posts).
    selection = {name: logits_and_labels(name) for name in ("validation", DEV_SPLIT) if name in splits}
    extra = _threshold_posts(work)
    if extra is not None:
        selection[THRESHOLD_SOURCE] = extra
    scored = {name: logits_and_labels(name) for name in ("test", "evasion")}
    config = CalibrationConfig(label_bags=label_bags)
    result = policy_spread(selection, scored, resamples=resamples, seed=seed, config=config)
    typer.echo(
        json.dumps(
            {"work": str(work), "role": role, "ngram_weight": weight, "label_bags": label_bags, **result}
        )
    )


if __name__ == "__main__":
    app()
