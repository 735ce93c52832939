"""Whether two releases serve the same logits on the same posts: the check behind a lossless repack.

Why: a release stored differently (r21: r20's cascade with its shared table stored once, the
n-gram vocabulary in its npz, a compact tokenizer) is released without a judge only if nothing it
serves changed. This scores labelled post files (the holdout format) with both releases as served
and reports whether every logit is bit-identical, the largest difference, and the posts whose
labels or action differ under each release's own policy.

    python -m eval.same_scores --release A --release B --posts F [--posts G ...]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

app = typer.Typer(help="Compare two releases' served logits on the same posts.", add_completion=False)


def compare_releases(
    first: Path, second: Path, texts: list[str], *, threads: int | None = None
) -> dict[str, Any]:
    """Logits of both releases as served on ``texts``: identical or not, the largest gap, decision changes."""
    from model.bundle import load_bundle
    from model.policy import Policy

    outcome: dict[str, Any] = {"posts": len(texts)}
    logits, decided = [], []
    for directory in (first, second):
        bundle = load_bundle(Path(directory), intra_op_threads=threads)
        scores = bundle.classifier.logits(texts)
        policy = Policy.load(bundle.policy_path)
        logits.append(scores)
        decisions = policy.decide_many(policy.calibrate(scores, kind="logits"))
        decided.append([(d.action, d.labels_over) for d in decisions])
    outcome["identical"] = bool(np.array_equal(logits[0], logits[1]))
    outcome["max_abs_logit_gap"] = float(np.abs(logits[0] - logits[1]).max()) if texts else 0.0
    outcome["posts_decided_otherwise"] = sum(a != b for a, b in zip(decided[0], decided[1], strict=True))
    return outcome


@app.command()
def main(
    release: Annotated[list[Path], typer.Option(help="A release folder; give exactly two.")],
    posts: Annotated[
        list[Path], typer.Option(help="Labelled posts, JSON Lines (the holdout format); repeatable.")
    ],
    threads: Annotated[int | None, typer.Option(help="onnxruntime threads (default: all cores).")] = None,
) -> None:
    """Print whether the two releases' served logits are bit-identical on the posts."""
    from eval.holdout import HoldoutError, load_holdout

    if len(release) != 2:
        typer.echo(f"error: give --release exactly twice; got {len(release)}.", err=True)
        raise typer.Exit(2)
    try:
        texts = [text for path in posts for text in load_holdout(path).texts]
        outcome = compare_releases(release[0], release[1], texts, threads=threads)
    except HoldoutError as err:
        typer.echo(f"error: --posts: {err}", err=True)
        raise typer.Exit(2) from None
    except (FileNotFoundError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"{outcome['posts']} posts: logits {'bit-identical' if outcome['identical'] else 'differ'}"
        f" (largest gap {outcome['max_abs_logit_gap']:.3g}); {outcome['posts_decided_otherwise']} posts given other labels or another action"
    )


if __name__ == "__main__":
    app()
