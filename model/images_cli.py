"""`feedguard images ...`: PDQ-hash image files and work with a persisted image duplicate index.

    feedguard images hash FILE...                    -> "hex quality path" per line
    feedguard images index add FILE... [--post-id P] [--author A] [--created-at ISO]
    feedguard images index query FILE...             -> "distance post_id author_id created_at image_id" per match
    feedguard images index stats

The index directory defaults to ``$FEEDGUARD_HOME/state/evidence/images`` (``./var`` when unset): the
same layout :meth:`model.evidence.EvidenceFinder.save` writes, so the CLI inspects what the
service persisted (``index add`` rewrites it: stop the service first). Bad input exits with code 2
and one line on stderr per problem.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from model.hamming_index import HammingIndex
from model.image_io import ImageRejected
from model.pdq import DEFAULT_MIN_QUALITY, PdqHash, hash_file
from model.signals import IndexedItem

app = typer.Typer(help="PDQ image hashes and the image near-duplicate index.", no_args_is_help=True)
index_app = typer.Typer(help="Add to, query and inspect a persisted image index.", no_args_is_help=True)
app.add_typer(index_app, name="index")


def default_index_dir() -> Path:
    """``$FEEDGUARD_HOME/state/evidence/images`` (``./var/state/evidence/images`` by default)."""
    return Path(os.environ.get("FEEDGUARD_HOME", "var")) / "state" / "evidence" / "images"


IndexOption = Annotated[
    Path | None,
    typer.Option("--index", help="Index directory (default $FEEDGUARD_HOME/state/evidence/images)."),
]
FilesArgument = Annotated[list[Path], typer.Argument(help="Image files (JPEG, PNG, WEBP, GIF, BMP).")]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _hash_files(files: list[Path], *, dihedral: bool) -> tuple[list[tuple[Path, PdqHash]], int]:
    """Hash each file; a bad one gets one stderr line and is skipped. Returns (hashes, failures)."""
    hashed, failures = [], 0
    for path in files:
        if not path.is_file():
            typer.echo(f"error: {path}: no such file; pass an existing image file.", err=True)
            failures += 1
            continue
        try:
            hashed.append((path, hash_file(path, dihedral=dihedral)))
        except ImageRejected as rejected:
            typer.echo(f"error: {path}: rejected ({rejected.reason}): {rejected.detail}", err=True)
            failures += 1
        except OSError as error:
            typer.echo(f"error: {path}: cannot read ({error.strerror or error}).", err=True)
            failures += 1
    return hashed, failures


def _load(index_dir: Path, *, create: bool) -> HammingIndex:
    if (index_dir / "meta.json").is_file():
        try:
            return HammingIndex.load(index_dir)
        except ValueError as error:
            _fail(f"--index {index_dir} cannot be loaded: {error}")
    if not create:
        _fail(
            f"--index must be a directory holding a saved image index; {str(index_dir)!r} has none (run `index add`)."
        )
    return HammingIndex()


@app.command("hash")
def hash_command(
    files: FilesArgument,
    dihedral: Annotated[
        bool, typer.Option(help="Also print the 7 rotated/mirrored hashes after the path.")
    ] = False,
) -> None:
    """Print "hex quality path" for each image (quality 0-100; below 50 the hash is not used for matching)."""
    hashed, failures = _hash_files(files, dihedral=dihedral)
    for path, value in hashed:
        extra = (" " + " ".join(value.variants)) if dihedral else ""
        typer.echo(f"{value.hex} {value.quality} {path}{extra}")
    if failures:
        raise typer.Exit(code=2)


@index_app.command("add")
def index_add(
    files: FilesArgument,
    index: IndexOption = None,
    post_id: Annotated[
        str | None, typer.Option(help="Post id for all FILES (default: each file's name).")
    ] = None,
    author: Annotated[str, typer.Option(help="Author (account) id.")] = "cli",
    created_at: Annotated[
        str | None,
        typer.Option(help="ISO 8601 time with zone, e.g. 2026-11-17T09:00:00+08:00 (default: now)."),
    ] = None,
    min_quality: Annotated[
        int, typer.Option(help="Skip hashes below this PDQ quality.")
    ] = DEFAULT_MIN_QUALITY,
) -> None:
    """Hash FILES and add them to the index (low-quality hashes are skipped and reported)."""
    index_dir = index or default_index_dir()
    moment = datetime.now(UTC)
    if created_at is not None:
        try:
            moment = datetime.fromisoformat(created_at)
        except ValueError:
            _fail(
                f"--created-at must be an ISO 8601 time such as 2026-11-17T09:00:00+08:00; got {created_at!r}."
            )
        if moment.tzinfo is None:
            _fail(f"--created-at must include a time zone (e.g. +08:00 or Z); got {created_at!r}.")
    if not author.strip():
        _fail("--author must be a non-empty account id.")
    target = _load(index_dir, create=True)
    hashed, failures = _hash_files(files, dihedral=False)
    items = []
    for number, (path, value) in enumerate(hashed):
        if not value.passes_quality(min_quality):
            typer.echo(f"skipped {path}: quality {value.quality} < {min_quality} (too flat to match)")
            continue
        post = post_id or path.name
        items.append(IndexedItem(value.hex, post, author, moment, image_id=f"{post}#{number}"))
    target.add(items)
    target.save(index_dir)
    typer.echo(f"added {len(items)} hash(es); index {index_dir} now holds {len(target)}")
    if failures:
        raise typer.Exit(code=2)


@index_app.command("query")
def index_query(
    files: FilesArgument,
    index: IndexOption = None,
    radius: Annotated[
        int | None, typer.Option(help="Match radius in bits (default: the index's own, 31).")
    ] = None,
) -> None:
    """Print the indexed images within the radius of each file (rotated and mirrored copies included)."""
    target = _load(index or default_index_dir(), create=False)
    if radius is not None:
        if not 0 <= radius <= 63:
            _fail(f"--radius must be between 0 and 63 bits; got {radius}.")
        target = _reloaded_with_radius(target, radius)
    hashed, failures = _hash_files(files, dihedral=True)
    for path, value in hashed:
        matches = target.query(value)
        quality_note = (
            "" if value.passes_quality() else f" (quality {value.quality}: too flat, matches unreliable)"
        )
        typer.echo(f"{path}: {len(matches)} match(es){quality_note}")
        for match in matches:
            item = match.item
            typer.echo(
                f"  {match.distance:.0f} {item.post_id} {item.author_id} {item.created_at.isoformat()} {item.image_id}"
            )
    if failures:
        raise typer.Exit(code=2)


def _reloaded_with_radius(index: HammingIndex, radius: int) -> HammingIndex:
    """A copy of ``index`` searching at ``radius`` (the multi-index flip budget depends on it)."""
    copy = HammingIndex(radius=radius, mih_min_size=index.mih_min_size)
    copy.add(list(index.items()))
    return copy


@index_app.command("stats")
def index_stats(index: IndexOption = None) -> None:
    """Print the index's sizes as JSON (items, posts, authors, tiers, bytes)."""
    target = _load(index or default_index_dir(), create=False)
    typer.echo(json.dumps(target.stats(), indent=2))
