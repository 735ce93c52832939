"""Would escalating unsure posts to the teacher pay? Quality and speed of a two-stage scorer.

The released 4-layer student trails the 12-layer teacher by 2-3 F1 points on unseen families,
and the teacher is too slow to score every post (162 posts/s as served against 434). A
cascade scores every post with the fast model and re-scores with the slow one only the posts
where some label's fast logit is within ``band`` of the 0.5 boundary. Most feed posts are
plainly normal, so few would pay for the slow model.

This script compares bands across two builds before one is chosen for a release
(``feedguard model build --escalate-band``, which ships the student and teacher of one build as
``model.text_cascade`` routes them): quality from the INT8 predictions the two builds saved
(``WORK/predictions``), at threshold 0.5 on every split, with the share of posts escalated;
speed by timing the real ONNX models on test posts and on real normal posts (the traffic a
feed mostly sends). Each side is the model its build released, blended with the n-gram model
at the build's weight. The saved scores approximate serving's for the slow side: an INT8
score depends on its batch-mates, and served, the slow model sees only the escalated posts
(the release build computes those as served). Not a test:

    python -m eval.cascade_probe --fast var/model-build/r9s4 --slow var/model-build/r10sp \
        --data var/data/default
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from eval.bench_text import draw_posts, served_release, time_batched
from model.text_cascade import CascadeTextClassifier, cascade_logits, escalated

#: Splits the quality table reads (``dev`` is the hand-written set).
SPLITS = ("validation", "dev", "test", "evasion", "real_normal")
TORCH_TEACHER = "PyTorch FP32 teacher (slow build)"


def released_logits(work: Path) -> dict[str, np.ndarray]:
    """``{split: logits}`` of the model a build released, blended as it was (saved INT8 scores)."""
    from eval.text_report import load_blend_weight, load_predictions, load_released_role
    from model.text_ensemble import blend_logits

    preds = load_predictions(work)
    model = f"{load_released_role(work)}_onnx_int8"
    if model not in preds or "baseline" not in preds:
        raise ValueError(
            f"{str(work)!r} has no saved predictions for {model} and baseline; finish its build first."
        )
    weight = load_blend_weight(work)
    return {name: blend_logits(preds[model][name], preds["baseline"][name], weight) for name in preds[model]}


def served_model(work: Path, max_length: int):
    """The released model of a build's work dir as serving runs it (INT8, n-gram blend if any)."""
    encoder, blended = served_release(work, max_length)
    return blended if blended is not None else encoder


def quality_table(
    fast: dict[str, np.ndarray], slow: dict[str, np.ndarray], y: dict[str, np.ndarray], bands: Sequence[float]
) -> list[dict[str, Any]]:
    """Per model and split: macro-F1 at 0.5 (share flagged on all-normal splits), share escalated."""
    from eval.text_metrics import flag_rate, label_metrics

    def score(name: str, logits: np.ndarray, escalated_share: float) -> dict[str, Any]:
        probs = 1.0 / (1.0 + np.exp(-logits))
        if not y[name].any():
            return {"measure": "flagged", "score": flag_rate(probs, 0.5), "escalated": escalated_share}
        f1 = float(label_metrics(y[name], probs, 0.5)["macro_f1"])
        return {"measure": "macro_f1", "score": f1, "escalated": escalated_share}

    rows = [{"model": "fast", **{n: score(n, fast[n], 0.0) for n in y}}]
    for band in bands:
        rows.append(
            {
                "model": f"cascade, band {band:g}",
                **{
                    n: score(
                        n, cascade_logits(fast[n], slow[n], band), float(escalated(fast[n], band).mean())
                    )
                    for n in y
                },
            }
        )
    rows.append({"model": "slow", **{n: score(n, slow[n], 1.0) for n in y}})
    return rows


def speed_table(
    fast_work: Path, slow_work: Path, posts: dict[str, list[str]], bands: Sequence[float], max_length: int
) -> dict[str, dict[str, float]]:
    """Posts/s (best of 3 calls over all posts, batched by the models) per model and post set.

    The slow build's PyTorch FP32 teacher is timed too when its work dir has it: the issue's
    speed goal is a multiple of that model's throughput.
    """
    fast, slow = served_model(fast_work, max_length), served_model(slow_work, max_length)
    models = {
        "fast": fast,
        **{f"cascade, band {b:g}": CascadeTextClassifier(fast, slow, b) for b in bands},
        "slow": slow,
    }
    teacher_dir = slow_work / "teacher" / "best"
    if (teacher_dir / "config.json").is_file():
        from model.text_classifier import TorchTextClassifier, load_module
        from model.tokenizer import PostTokenizer

        tokenizer = PostTokenizer.load(slow_work / "tokenizer")
        models[TORCH_TEACHER] = TorchTextClassifier(load_module(teacher_dir), tokenizer, max_length, 32)
    out: dict[str, dict[str, float]] = {}
    for name, model in models.items():
        out[name] = {}
        for set_name, texts in posts.items():
            model.logits(texts[:32])  # warm-up: sessions allocate on first run
            out[name][set_name] = time_batched(model.logits, texts, 3)
    return out


def render(
    quality: list[dict[str, Any]], speed: dict[str, dict[str, float]], load: tuple[float, float]
) -> str:
    names = [n for n in SPLITS if n in quality[0]]
    head = " | ".join(f"{n} (escalated)" for n in names)
    lines = [
        "Macro-F1 at 0.5 (all-normal splits: share of posts flagged at 0.5), share of posts escalated:",
        "",
        f"| model | {head} |",
        "| --- |" + " --- |" * len(names),
    ]
    for row in quality:
        cells = " | ".join(
            f"{row[n]['score']:{'.2%' if row[n]['measure'] == 'flagged' else '.3f'}} ({row[n]['escalated']:.0%})"
            for n in names
        )
        lines.append(f"| {row['model']} | {cells} |")
    sets = list(next(iter(speed.values())))
    ref = speed.get(TORCH_TEACHER)
    lines += [
        "",
        "Posts/s (one call over the posts, best of 3)" + (", × the PyTorch FP32 teacher:" if ref else ":"),
        "",
        "| model | " + " | ".join(sets) + " |",
        "| --- |" + " --- |" * len(sets),
    ]
    for name, per_set in speed.items():
        cells = [f"{per_set[s]:.0f}" + (f" ({per_set[s] / ref[s]:.1f}×)" if ref else "") for s in sets]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"Load average before / after: {load[0]:.2f} / {load[1]:.2f}."]
    return "\n".join(lines)


app = typer.Typer(help="Measure a fast-then-slow cascade of two release builds.", add_completion=False)


@app.command()
def main(
    fast: Annotated[Path, typer.Option(help="Work dir of the build whose released model scores every post.")],
    slow: Annotated[
        Path, typer.Option(help="Work dir of the build whose released model scores unsure posts.")
    ],
    data: Annotated[Path, typer.Option(help="Dataset build both were built from.")],
    bands: Annotated[str, typer.Option(help="Comma-separated logit bands to try.")] = "0.5,1,1.5,2",
    posts: Annotated[int, typer.Option(help="Posts timed per set (test, real_normal).")] = 256,
    max_length: Annotated[int, typer.Option(help="Token limit, as in the release manifest.")] = 128,
    seed: Annotated[int, typer.Option(help="Seed for drawing the timed posts.")] = 13,
    out: Annotated[Path | None, typer.Option(help="Also write the JSON result here.")] = None,
) -> None:
    """Print the quality and speed tables (Markdown)."""
    from eval.text_report import load_eval_splits

    try:
        band_values = [float(b) for b in bands.split(",") if b.strip()]
    except ValueError:
        typer.echo(f"error: --bands must be comma-separated numbers; got {bands!r}.", err=True)
        raise typer.Exit(2) from None
    if not band_values or any(b <= 0 for b in band_values) or posts < 1:
        typer.echo("error: --bands must hold positive numbers and --posts must be >= 1.", err=True)
        raise typer.Exit(2)
    try:
        fast_logits, slow_logits = released_logits(fast), released_logits(slow)
        splits = load_eval_splits(data, ("validation", "test", "evasion", "real_normal"))
        y = {n: splits[n].y for n in SPLITS if n in splits and n in fast_logits and n in slow_logits}
        for name, labels in y.items():
            if not (len(labels) == len(fast_logits[name]) == len(slow_logits[name])):
                raise ValueError(
                    f"the builds' {name} predictions do not match the dataset's rows; same data?"
                )
    except (ValueError, FileNotFoundError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    quality = quality_table(fast_logits, slow_logits, y, band_values)
    timed = {n: draw_posts(splits[n].texts, posts, seed) for n in ("test", "real_normal")}
    load_before = os.getloadavg()[0]
    try:
        speed = speed_table(fast, slow, timed, band_values, max_length)
    except (ValueError, FileNotFoundError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    load = (load_before, os.getloadavg()[0])
    typer.echo(render(quality, speed, load))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps({"quality": quality, "speed": speed, "load": load}, indent=1), encoding="utf-8"
        )


if __name__ == "__main__":
    app()
