"""``feedguard batch score``: re-score a dump of posts on Ray (the lead wires this ``app`` under ``batch``).

Progress goes to stderr, the run's summary (JSON) to stdout. Bad input exits with code 2 and one
line on stderr saying what to fix.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from model.bundle import RELEASE_DIR
from serve.batch.job import DEFAULT_SHARD_POSTS, BatchConfig, run_batch

app = typer.Typer(help="Re-score posts at scale on Ray Data.", no_args_is_help=True, add_completion=False)


@app.callback()
def _group() -> None:
    """Re-score posts at scale on Ray Data (`feedguard batch score`)."""


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@app.command("score")
def score(
    input: Annotated[
        str,
        typer.Option("--input", help="Parquet or JSON Lines file, or a folder of them (local or s3://...)."),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            help="Output folder: scores/*.parquet, clusters.parquet, rejects.jsonl, job.json. Rerunning overwrites it.",
        ),
    ],
    address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster: HEAD:6379 from a cluster node, 'auto' inside `ray job submit`"
            " (ray://HEAD:10001 needs the Ray Client extra); default: start Ray on this machine."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Scoring actors (one ONNX session each); default: all CPUs / --cpus-per-worker."),
    ] = None,
    two_pass: Annotated[
        bool,
        typer.Option(
            "--two-pass/--no-two-pass",
            help="Build the image/text near-duplicate indexes from the whole input first (clusters), or skip them.",
        ),
    ] = True,
    release: Annotated[Path, typer.Option(help="Model release folder.")] = RELEASE_DIR,
    input_format: Annotated[
        str | None, typer.Option("--format", help="'parquet' or 'jsonl' (default: from the file extension).")
    ] = None,
    cpus_per_worker: Annotated[
        int, typer.Option(help="CPUs per scoring actor; also its ONNX intra-op threads.")
    ] = 1,
    shard_posts: Annotated[
        int,
        typer.Option(
            help="Posts per shard (authors kept whole). Part of the result: keep it fixed across reruns."
        ),
    ] = DEFAULT_SHARD_POSTS,
    progress_bars: Annotated[bool, typer.Option(help="Show Ray Data's progress bars too.")] = False,
) -> None:
    """Score every post with the service's Scorer; malformed records go to rejects.jsonl."""
    if "://" not in input and not Path(input).exists():
        _fail(f"--input must be an existing file or folder; got {input!r}.")
    if not (release / "manifest.json").is_file():
        _fail(f"--release must be a model release folder with manifest.json; got {str(release)!r}.")
    try:
        config = BatchConfig(
            input=input,
            output=output,
            release=release,
            address=address,
            workers=workers,
            cpus_per_worker=cpus_per_worker,
            two_pass=two_pass,
            input_format=input_format,
            shard_posts=shard_posts,
            progress_bars=progress_bars,
        )
    except ValueError as err:
        _fail(_option_message(str(err)))
        return
    try:
        summary = run_batch(config, progress=lambda line: typer.echo(line, err=True))
    except (ValueError, FileNotFoundError) as err:
        _fail(_option_message(str(err)))
        return
    except ConnectionError as err:
        _fail(f"--address {address!r}: cannot connect to the Ray cluster ({err}).")
        return
    typer.echo(json.dumps(summary.to_dict(), indent=2))


def _option_message(message: str) -> str:
    """Name the CLI option rather than the Python parameter in a ValueError's message."""
    for name in ("input_format", "cpus_per_worker", "shard_posts", "workers", "input", "output", "release"):
        message = message.replace(f"'{name}' parameter", f"--{name.replace('_', '-')} option")
    return message.replace("--input-format option", "--format option")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
