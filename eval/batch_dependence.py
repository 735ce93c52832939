"""How far a post's served scores move with the other posts scored in the same call.

Why this exists: the release is *dynamic* INT8. Each quantized MatMul turns its input into
integers with one scale computed over the whole input tensor, every post of the batch and its
padding together, so one post with large activations coarsens the rounding of every other post
beside it. The FP32/INT8 parity check compares whole splits scored the same way and cannot see
it. This script scores the same posts twice, all in one call (the classifier sorts them by
length and runs groups, as the batch job does) and one post per call, and reports the largest
and 99th-percentile logit difference, how many posts change their `label` decision, and the
throughput of each way (one pass each: a rough figure, not the model card's benchmark).

Not a test (no threshold is claimed): a figure for the README and the model's known
weaknesses, reproduced by
``python -m eval.batch_dependence --release model/release --data var/data/hand --posts 1000``
(``--holdout FILE`` adds a labelled holdout's posts).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from model.policy import Policy


def policy_labels(policy: Policy) -> Callable[[np.ndarray], list[tuple[str, ...]]]:
    """Logits -> each post's labels over their `label` cut, decided by ``policy`` as the Scorer does."""

    def labels(logits: np.ndarray) -> list[tuple[str, ...]]:
        return [d.labels_over for d in policy.decide_many(policy.calibrate(logits, kind="logits"))]

    return labels


def batch_dependence(
    logits: Callable[[list[str]], np.ndarray],
    labels: Callable[[np.ndarray], Sequence[tuple[str, ...]]],
    texts: Sequence[str],
) -> dict[str, Any]:
    """Scores of ``texts`` in one call against one call per post: logit gaps and decision flips.

    ``labels`` maps a logit matrix to each post's labels over their `label` cut
    (:func:`policy_labels` for a release).
    """
    texts = list(texts)
    if not texts:
        raise ValueError("The 'texts' parameter of batch_dependence must hold at least one post.")
    start = time.perf_counter()
    together = np.asarray(logits(texts), dtype=np.float64)
    middle = time.perf_counter()
    alone = np.concatenate([np.asarray(logits([t]), dtype=np.float64) for t in texts])
    end = time.perf_counter()
    gap = np.abs(together - alone)
    decided = labels(together), labels(alone)
    if any(len(d) != len(texts) for d in decided):
        raise ValueError("The 'labels' parameter of batch_dependence must give one label tuple per post.")
    flips = sum(a != b for a, b in zip(*decided, strict=True))
    return {
        "posts": len(texts),
        "max_logit_gap": float(gap.max()),
        "p99_logit_gap": float(np.quantile(gap, 0.99)),
        "flipped_posts": int(flips),
        # What scoring one post per call (which removes the dependence) would cost; one pass each,
        # so read it as a rough figure (the machine is shared).
        "posts_per_s_together": len(texts) / max(middle - start, 1e-9),
        "posts_per_s_alone": len(texts) / max(end - middle, 1e-9),
    }


app = typer.Typer(
    help="Measure how a release's scores depend on the batch they are scored in.", add_completion=False
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def main(
    release: Annotated[Path, typer.Option(help="Release dir.")] = Path("model/release"),
    data: Annotated[Path | None, typer.Option(help="Dataset build; posts drawn from its test split.")] = None,
    holdout: Annotated[
        Path | None, typer.Option(help="Labelled holdout (JSON Lines) whose posts to use.")
    ] = None,
    posts: Annotated[int, typer.Option(help="Test posts to draw from --data.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed for drawing the test posts.")] = 0,
) -> None:
    """Print one line per post set: posts, largest and p99 logit gap, posts whose `label` decision flips."""
    from eval.holdout import load_holdout
    from eval.text_report import load_eval_splits
    from model.bundle import load_bundle

    if data is None and holdout is None:
        _fail("pass --data (a dataset build), --holdout (labelled posts as JSON Lines), or both.")
    if posts < 1:
        _fail(f"--posts must be >= 1; got {posts}.")
    try:
        bundle = load_bundle(release)
        policy = Policy.load(bundle.policy_path)
        sets: dict[str, list[str]] = {}
        if data is not None:
            test = load_eval_splits(data, ("test",))["test"].texts
            rng = np.random.default_rng(seed)
            pick = np.sort(rng.choice(len(test), size=min(posts, len(test)), replace=False))
            sets["test"] = [test[i] for i in pick]
        if holdout is not None:
            sets["holdout"] = list(load_holdout(holdout).texts)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    for name, texts in sets.items():
        result = batch_dependence(bundle.classifier.logits, policy_labels(policy), texts)
        typer.echo(json.dumps({"release": str(release), "set": name, **result}))


if __name__ == "__main__":
    app()
