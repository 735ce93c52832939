"""``feedguard score --in posts.jsonl --out scores.jsonl``: score posts from the command line.

For moderators and analysts: one JSON object per line in, one per line out, through the
same :class:`model.scorer.Scorer` the service uses, so a post gets the same answer here
as in the feed. ``-`` means stdin / stdout.

Input lines: ``{"id": str|int, "text": str, "author_id"?: str, "created_at"?: ISO 8601 with
zone, "image_hashes"?: [hex PDQ, ...]}``; other keys are ignored. Output lines:
``{"id", "scores": {label: p}, "seller", "labels", "action", "reasons", ...}``.

A bad line (not JSON, not an object, no id, duplicate id, no or empty text, text not a
string, a bad optional field) is reported on stderr as ``line N: what is wrong`` and
skipped: never dropped silently. Exit code 0 when every line was scored, 1 when any was
bad, 2 for usage errors (missing input file, missing release).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any

import typer

app = typer.Typer(help="Score posts from a JSONL file with the released model.", add_completion=False)


@dataclass(frozen=True)
class ParsedPost:
    """One good input line, before it becomes a ``PostInput``."""

    line: int
    post_id: str
    text: str
    author_id: str | None = None
    created_at: datetime | None = None
    image_hashes: tuple[str, ...] = field(default=())


def _parse_line(raw: str | bytes, line: int, seen: set[str]) -> ParsedPost | str:
    """A :class:`ParsedPost`, or the message saying what is wrong with the line."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            return f"not valid UTF-8 (byte {err.start})"
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as err:
        return f"not valid JSON ({err.msg} at column {err.colno})"
    if not isinstance(obj, dict):
        return f"must be a JSON object; got {type(obj).__name__}"
    if "id" not in obj:
        return "has no 'id'"
    pid = obj["id"]
    if isinstance(pid, bool) or not isinstance(pid, str | int) or (isinstance(pid, str) and not pid.strip()):
        return f"'id' must be a non-empty string or an integer; got {pid!r}"
    post_id = str(pid)
    if "text" not in obj:
        return f"post {post_id!r} has no 'text'"
    text = obj["text"]
    if not isinstance(text, str):
        return f"post {post_id!r}: 'text' must be a string; got {type(text).__name__}"
    if not text.strip():
        return f"post {post_id!r}: 'text' is empty"
    author = obj.get("author_id")
    if author is not None and (not isinstance(author, str) or not author.strip()):
        return f"post {post_id!r}: 'author_id' must be a non-empty string; got {author!r}"
    created: datetime | None = None
    if obj.get("created_at") is not None:
        value = obj["created_at"]
        try:
            created = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            created = None
        if created is None or created.utcoffset() is None:
            return f"post {post_id!r}: 'created_at' must be an ISO 8601 time with a zone; got {value!r}"
    hashes = obj.get("image_hashes", [])
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        return f"post {post_id!r}: 'image_hashes' must be a list of hex strings; got {hashes!r}"
    if post_id in seen:
        return f"duplicate id {post_id!r}"
    seen.add(post_id)
    return ParsedPost(line, post_id, text, author, created, tuple(hashes))


def parse_lines(lines: Iterable[str | bytes]) -> Iterator[ParsedPost | tuple[int, str]]:
    """Yield a :class:`ParsedPost` per good line and ``(line_number, message)`` per bad one.

    Blank lines are skipped without complaint (a trailing newline is not an error).
    Line numbers count from 1 over all lines, blank ones included, as an editor shows them.
    """
    seen: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        parsed = _parse_line(raw, number, seen)
        yield (number, parsed) if isinstance(parsed, str) else parsed


def _to_input(post: ParsedPost):
    from model.scorer import PostInput

    return PostInput(
        post_id=post.post_id,
        text=post.text,
        author_id=post.author_id,
        created_at=post.created_at,
        image_hashes=post.image_hashes,
    )


def score_stream(
    lines: Iterable[str | bytes],
    out: IO[str],
    err: IO[str],
    *,
    scorer: Any,
    batch_size: int = 64,
) -> tuple[int, int]:
    """Score every good line of ``lines`` into ``out``; report bad ones on ``err``; return (scored, bad).

    Posts go to the scorer in batches, so the model runs batched and memory stays flat on
    big files; output order is input order.
    """
    batch: list[ParsedPost] = []
    counts = {"scored": 0, "bad": 0}

    def flush() -> None:
        good = []
        for post in batch:
            try:
                good.append(_to_input(post))
            except ValueError as error:  # a field the scorer's own checks refuse
                err.write(f"line {post.line}: {error}\n")
                counts["bad"] += 1
        for result in scorer.score(good) if good else []:
            row = result.to_dict()
            row.setdefault("id", result.post_id)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            counts["scored"] += 1
        batch.clear()

    for item in parse_lines(lines):
        if isinstance(item, tuple):
            err.write(f"line {item[0]}: {item[1]}\n")
            counts["bad"] += 1
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    flush()
    return counts["scored"], counts["bad"]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@app.command("score")
def score(
    in_path: Annotated[
        str, typer.Option("--in", help='Input JSONL ({"id", "text", ...} per line), or - for stdin.')
    ],
    out_path: Annotated[str, typer.Option("--out", help="Output JSONL, or - for stdout.")] = "-",
    release: Annotated[
        Path | None, typer.Option(help="Release dir (default: the committed model/release).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Posts per model call.")] = 64,
    threads: Annotated[int | None, typer.Option(help="onnxruntime threads (default: all cores).")] = None,
) -> None:
    """Score posts; bad lines are reported as `line N: ...` on stderr and skipped (exit code 1)."""
    if in_path != "-" and not Path(in_path).is_file():
        _fail(f"--in must be an existing file or -; got {in_path!r}.")
    if batch_size < 1:
        _fail(f"--batch-size must be >= 1; got {batch_size}.")
    if threads is not None and threads < 1:
        _fail(f"--threads must be >= 1; got {threads}.")
    if out_path != "-" and not Path(out_path).parent.is_dir():
        _fail(f"--out must be in an existing directory or -; got {out_path!r}.")
    from model.scorer import Scorer

    try:
        scorer = Scorer.from_release(release, intra_op_threads=threads)
    except (FileNotFoundError, ValueError) as error:
        _fail(f"cannot load the release: {error}")
    # Bytes in, so a line that is not UTF-8 is reported as a bad line instead of ending the run.
    source = sys.stdin.buffer if in_path == "-" else open(in_path, "rb")  # noqa: SIM115
    sink = sys.stdout if out_path == "-" else open(out_path, "w", encoding="utf-8")  # noqa: SIM115
    try:
        scored, bad = score_stream(source, sink, sys.stderr, scorer=scorer, batch_size=batch_size)
    finally:
        if source is not sys.stdin.buffer:
            source.close()
        if sink is not sys.stdout:
            sink.close()
        else:
            sink.flush()
    typer.echo(f"scored {scored} posts; {bad} bad lines skipped", err=True)
    raise typer.Exit(code=1 if bad else 0)
