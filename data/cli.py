"""`feedguard data ...`: build a versioned dataset, and check it for leakage.

Bad input exits with code 2 and one line on stderr saying what to fix.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Build the labelled dataset and check it for leakage.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@app.command("build")
def build(
    size: Annotated[
        str, typer.Option(help="Build size: 'small' (~3k posts, tests) or 'default' (>=40k).")
    ] = "small",
    out: Annotated[Path | None, typer.Option(help="Output directory (default var/data/<size>).")] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same rows and hashes.")
    ] = 13,
    extra: Annotated[
        list[Path] | None,
        typer.Option(
            help="Directory of moderator-decision exports (*.jsonl or a saved dataset) added to train."
        ),
    ] = None,
    variety: Annotated[
        int,
        typer.Option(
            help="Add N training posts from the opt-in variety families (data/generator/families_variety.py);"
            " 0 keeps the build byte-identical to one without them."
        ),
    ] = 0,
    handwritten: Annotated[
        bool,
        typer.Option(
            help="Add the hand-written training posts of data/handwritten/ to train (held-out splits unchanged)."
        ),
    ] = False,
    handwritten_rounds: Annotated[
        int,
        typer.Option(
            help="How many rounds of hand-written posts --handwritten adds: 1 = the first four writers"
            " (data/handwritten/*.jsonl, r13's data), 2 = also data/handwritten/round2/ (r14's),"
            " 3 = also data/handwritten/round3/ (r15–r22's), 4 = also data/handwritten/round4/."
        ),
    ] = 1,
    handwritten_extra: Annotated[
        list[Path] | None,
        typer.Option(
            help="Directory of other hand-written posts (*.jsonl, data/handwritten format; the retired"
            " outside holdouts: data/handwritten/retired*) added to train as hand-written posts:"
            " they give way to held-out rows and count as source handwritten, not as moderator labels."
        ),
    ] = None,
) -> None:
    """Build train/validation/test/evasion/real_normal splits, images and manifest.json."""
    from data.build import HANDWRITTEN_ROUNDS, PLANS, build_dataset
    from data.manifest import load_manifest, summary_table

    if size not in PLANS:
        _fail(f"--size must be one of {', '.join(PLANS)}; got {size!r}.")
    if seed < 0:
        _fail(f"--seed must be a non-negative integer; got {seed}.")
    if variety < 0:
        _fail(f"--variety must be a non-negative integer; got {variety}.")
    for flag, folders in (("--extra", extra), ("--handwritten-extra", handwritten_extra)):
        for p in folders or []:
            if not p.is_dir():
                _fail(f"{flag} must be an existing directory; got {str(p)!r}.")
    if not 1 <= handwritten_rounds <= len(HANDWRITTEN_ROUNDS):
        _fail(
            f"--handwritten-rounds must be 1..{len(HANDWRITTEN_ROUNDS)} (rounds in data/handwritten/); got {handwritten_rounds}."
        )
    if handwritten_rounds != 1 and not handwritten:
        _fail(
            f"--handwritten-rounds {handwritten_rounds} needs --handwritten (it says how many rounds that adds)."
        )
    out_dir = out or Path("var/data") / size
    t0 = time.perf_counter()
    try:
        build_dataset(  # type: ignore[arg-type]
            out_dir,
            size,
            seed=seed,
            extra_sources=extra or [],
            variety=variety,
            handwritten=handwritten,
            handwritten_rounds=handwritten_rounds,
            handwritten_extra=handwritten_extra or [],
        )
    except ValueError as e:
        _fail(str(e))
    seconds = time.perf_counter() - t0
    typer.echo(summary_table(load_manifest(out_dir)))
    typer.echo(
        f"built {out_dir} in {seconds:.1f} s (dataset: {out_dir / 'dataset'}, manifest: {out_dir / 'manifest.json'})"
    )


@app.command("leakage")
def leakage(
    data: Annotated[Path, typer.Option(help="A build directory (from `feedguard data build`).")] = Path(
        "var/data/small"
    ),
    report: Annotated[
        Path | None, typer.Option(help="Markdown report path (default eval/reports/leakage.md).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the cross-validation folds and subsampling.")] = 13,
) -> None:
    """Can a char n-gram model tell real from generated normal posts? How do n-grams do on test/evasion?"""
    from eval.leakage import DEFAULT_REPORT, run_leakage

    if not (data / "dataset").is_dir():
        _fail(
            f"--data must be a build directory holding dataset/ (run `feedguard data build`); got {str(data)!r}."
        )
    try:
        result = run_leakage(data, report_path=report or DEFAULT_REPORT, seed=seed)
    except ValueError as e:
        _fail(str(e))
    typer.echo(result.markdown)


@app.command("export-decisions")
def export_decisions(
    out: Annotated[Path, typer.Option(help="Directory to write decisions.jsonl and export.json into.")],
    database_url: Annotated[
        str | None,
        typer.Option(
            help="The service's store (default: FEEDGUARD_DATABASE_URL, else $FEEDGUARD_HOME/feedguard.db)."
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only decisions made at or after this ISO date/time (UTC if no zone).")
    ] = None,
    salt_file: Annotated[
        Path | None,
        typer.Option(help="Salt for hashing moderator and author ids (default $FEEDGUARD_HOME/export_salt)."),
    ] = None,
) -> None:
    """Write moderators' decisions as a labelled dataset for `feedguard data build --extra DIR`."""
    import os
    from datetime import UTC, datetime

    from data.decisions_export import default_database_url, ensure_salt
    from data.decisions_export import export_decisions as run_export

    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            _fail(f"--since must be an ISO date or date-time such as 2026-11-01; got {since!r}.")
            return
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    salt_path = salt_file or Path(os.environ.get("FEEDGUARD_HOME", "var")) / "export_salt"
    try:
        summary = run_export(
            database_url or default_database_url(), out, salt=ensure_salt(salt_path), since=start
        )
    except ValueError as e:
        _fail(str(e))
        return
    labelled = ", ".join(f"{k} {v}" for k, v in summary.labelled.items())
    typer.echo(
        f"exported {summary.rows} decisions ({labelled}; normal {summary.normal}) to {out / 'decisions.jsonl'}"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
