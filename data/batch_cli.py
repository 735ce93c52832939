"""``feedguard batch generate``: a synthetic feed dump for the batch job (the lead wires this ``app`` under ``batch``).

It lives in ``data/`` because it uses the generator, which ``serve/`` may not import.
Bad input exits with code 2 and one line on stderr saying what to fix.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Synthetic input for the batch job.", no_args_is_help=True, add_completion=False)


@app.callback()
def _group() -> None:
    """Synthetic input for the batch job (`feedguard batch generate`)."""


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@app.command("generate")
def generate(
    posts: Annotated[int, typer.Option(help="Number of posts.")],
    out: Annotated[
        Path, typer.Option(help="Output file: .parquet (images as bytes) or .jsonl (images as base64).")
    ],
    images: Annotated[
        int | None,
        typer.Option(help="Images across all posts (default: one per ten posts; rendering is slow)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed writes the same posts.")] = 7,
) -> None:
    """Write synthetic feed posts (agent networks re-posting screenshots and scripts included)."""
    from data.batch_generate import generate_batch

    if posts < 1:
        _fail(f"--posts must be at least 1; got {posts}.")
    if images is not None and images < 0:
        _fail(f"--images must be 0 or more; got {images}.")
    if out.suffix.lower() not in (".parquet", ".jsonl"):
        _fail(f"--out must end in .parquet or .jsonl; got {str(out)!r}.")
    started = time.perf_counter()
    try:
        made = generate_batch(posts, out, seed=seed, n_images=images)
    except ValueError as err:
        _fail(str(err))
        return
    typer.echo(
        f"wrote {made.posts} posts ({made.seller_posts} seller posts, {made.images} images, {made.accounts} accounts,"
        f" {made.networks} agent networks) to {made.path} in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
