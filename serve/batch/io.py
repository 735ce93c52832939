"""Batch input and output: Parquet or JSON Lines in, each record checked into a post or a reject.

A day of posts dumped from the platform is never clean, and one bad record must neither fail a job
over millions of posts nor vanish: it goes to the rejects file with the field at fault and the
reason. The checks are the service's own limits (:mod:`serve.schemas`), so a record that
``POST /v1/score`` would refuse is refused here too, with the same wording where it can be. Batch
differs in three ways, each because a rerun must give the same output:

* ``created_at`` is required: duplicate time windows, the account-history order and the output
  order all depend on it, and the service's fallback ("now") would change on every run;
* a record without ``post_id`` gets one derived from its content (``auto-`` + SHA-256 prefix), so
  a crashed job can simply be rerun and give every post the same id;
* columns the job does not use are ignored (dumps carry many), and integer ids are taken as text.

Input columns (Parquet) or keys (JSON Lines): ``post_id``, ``author_id``, ``created_at``
(timestamp with a time zone, or ISO 8601 with an offset), ``text``, ``images`` (list of image
bytes; base64 strings in JSON Lines, as in the API) and ``image_hashes`` (list of 64-digit PDQ hex).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from model.pdq import validate_hex
from model.scorer import PostInput
from serve.schemas import (
    EARLIEST,
    ID_PATTERN,
    LATEST,
    MAX_ID_CHARS,
    MAX_IMAGE_BYTES,
    MAX_IMAGES_PER_POST,
    MAX_TEXT_CHARS,
)

INPUT_FORMATS = ("parquet", "jsonl")
_EXTENSIONS = {".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
#: Columns the job reads; anything else in the input is ignored.
INPUT_COLUMNS = ("post_id", "author_id", "created_at", "text", "images", "image_hashes")
#: How much of a bad record the rejects file repeats (enough to find it, not the whole dump).
RECORD_EXCERPT_CHARS = 400
DERIVED_ID_PREFIX = "auto-"
_ID_RE = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class PostRecord:
    """A record that passed every check; ``post_input()`` is what the Scorer gets."""

    post_id: str
    author_id: str | None
    created_at: datetime
    text: str
    images: tuple[bytes, ...]
    image_hashes: tuple[str, ...]
    source: str

    def post_input(self) -> PostInput:
        return PostInput(
            post_id=self.post_id,
            text=self.text,
            author_id=self.author_id,
            created_at=self.created_at,
            image_bytes=self.images,
            image_hashes=self.image_hashes,
        )


@dataclass(frozen=True)
class Reject:
    """A record that will not be scored: where it came from, which field, why, and an excerpt of it."""

    source: str
    post_id: str | None
    field: str
    reason: str
    record: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "post_id": self.post_id,
            "field": self.field,
            "reason": self.reason,
            "record": self.record,
        }

    def sort_key(self) -> tuple[str, str, str, str, str]:
        return (self.source, self.post_id or "", self.field, self.reason, self.record)


class _Bad(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# ---------------------------------------------------------------------------------------------- checking
def parse_record(record: Mapping[str, Any], source: str) -> PostRecord | Reject:
    """Check one input record (a dict of column values); never raises for bad data."""
    raw_id = record.get("post_id")
    try:
        if not isinstance(record, Mapping):
            raise _Bad("record", f"must be an object with the post's fields; got {type(record).__name__}")
        post_id = _identifier(raw_id, "post_id", required=False)
        text = _text(record.get("text"))
        author_id = _identifier(record.get("author_id"), "author_id", required=False)
        created_at = _created_at(record.get("created_at"))
        images = _images(record.get("images"))
        image_hashes = _image_hashes(record.get("image_hashes"))
        if post_id is None:
            post_id = derive_post_id(author_id, created_at, text, images, image_hashes)
        return PostRecord(post_id, author_id, created_at, text, images, image_hashes, source)
    except _Bad as bad:
        post_id = raw_id if isinstance(raw_id, str) and raw_id else None
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            post_id = str(raw_id)
        return Reject(source, post_id, bad.field, bad.reason, excerpt(record))


def derive_post_id(
    author_id: str | None,
    created_at: datetime,
    text: str,
    images: Sequence[bytes] = (),
    image_hashes: Sequence[str] = (),
) -> str:
    """An id for a record that has none, from its content: the same record always gets the same id."""
    digest = hashlib.sha256()
    for part in (author_id or "", created_at.astimezone(UTC).isoformat(), text):
        digest.update(part.encode("utf-8") + b"\0")
    for data in images:
        digest.update(b"image\0" + hashlib.sha256(data).digest())
    for value in image_hashes:
        digest.update(b"pdq\0" + value.encode("ascii"))
    return DERIVED_ID_PREFIX + digest.hexdigest()[:24]


def _identifier(value: Any, field: str, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and value == ""):
        if required:
            raise _Bad(field, "is required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _Bad(field, f"must be a string; got {type(value).__name__}")
    if len(value) > MAX_ID_CHARS:
        raise _Bad(field, f"must be at most {MAX_ID_CHARS} characters; got {len(value)}")
    if not _ID_RE.match(value):
        raise _Bad(field, f"must use only ASCII letters, digits and _ - . : ; got {value[:40]!r}")
    return value


def _text(value: Any) -> str:
    if value is None:
        raise _Bad("text", "is required")
    if not isinstance(value, str):
        raise _Bad("text", f"must be a string; got {type(value).__name__}")
    if not value.strip():
        raise _Bad("text", "must contain non-whitespace characters")
    if len(value) > MAX_TEXT_CHARS:
        raise _Bad("text", f"must be at most {MAX_TEXT_CHARS} characters; got {len(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise _Bad("text", f"is not valid UTF-8 (unpaired surrogate at character {err.start})") from err
    if "\x00" in value:
        raise _Bad("text", f"must not contain NUL characters (found at character {value.index(chr(0))})")
    return value


def _created_at(value: Any) -> datetime:
    if value is None:
        raise _Bad("created_at", "is required in batch jobs (duplicate windows and history order use it)")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as err:
            raise _Bad("created_at", f"is not an ISO 8601 time ({value[:40]!r})") from err
    if not isinstance(value, datetime):
        raise _Bad(
            "created_at",
            f"must be a timestamp with a time zone or an ISO 8601 string; got {type(value).__name__}",
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise _Bad("created_at", f"has no time zone ({value.isoformat()}); write it with an offset or in UTC")
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError) as err:
        raise _Bad("created_at", f"is out of range ({err})") from err
    if not EARLIEST <= utc < LATEST:
        raise _Bad(
            "created_at", f"must be between {EARLIEST.date()} and {LATEST.date()}; got {utc.isoformat()}"
        )
    return utc


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise _Bad(field, f"must be a list; got {type(value).__name__}")
    if len(value) > MAX_IMAGES_PER_POST:
        raise _Bad(field, f"holds {len(value)} items; a post has at most {MAX_IMAGES_PER_POST}")
    return list(value)


def _images(value: Any) -> tuple[bytes, ...]:
    out: list[bytes] = []
    for j, item in enumerate(_list(value, "images")):
        where = f"images[{j}]"
        if isinstance(item, str):  # JSON Lines carry images as base64, as the API does
            try:
                item = base64.b64decode(item, validate=True)
            except (binascii.Error, ValueError) as err:
                raise _Bad(where, f"is not valid base64 ({err})") from err
        if not isinstance(item, bytes | bytearray):
            raise _Bad(where, f"must be image bytes or base64; got {type(item).__name__}")
        if not item:
            raise _Bad(where, "is empty")
        if len(item) > MAX_IMAGE_BYTES:
            raise _Bad(where, f"is {len(item)} bytes; the limit is {MAX_IMAGE_BYTES}")
        out.append(bytes(item))
    return tuple(out)


def _image_hashes(value: Any) -> tuple[str, ...]:
    out: list[str] = []
    for j, item in enumerate(_list(value, "image_hashes")):
        try:
            out.append(validate_hex(item, f"image_hashes[{j}]", "the batch input"))
        except ValueError as err:
            raise _Bad(f"image_hashes[{j}]", "must be a 64-digit hex PDQ hash") from err
    return tuple(out)


def excerpt(record: Any) -> str:
    """A short JSON rendering of a record for the rejects file (bytes shown as their length)."""

    def plain(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            return f"<{len(value)} bytes>"
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, str | int | float | bool) or value is None:
            return value
        return repr(value)

    text = json.dumps(plain(record), ensure_ascii=False, sort_keys=True, default=str)
    if len(text) > RECORD_EXCERPT_CHARS:
        text = text[: RECORD_EXCERPT_CHARS - 1] + "…"
    return text


# ---------------------------------------------------------------------------------------------- reading
def detect_format(path: str) -> str:
    """``parquet`` or ``jsonl`` from a file's extension, or from the files in a local directory."""
    local = Path(path)
    if local.is_dir():
        found = {_EXTENSIONS.get(p.suffix.lower()) for p in local.rglob("*") if p.is_file()} - {None}
        if len(found) != 1:
            raise ValueError(
                f"The 'input' parameter must be a file or a folder of *.parquet or *.jsonl files; "
                f"{path!r} holds {sorted(f for f in found if f) or 'neither'} (pass the format explicitly)."
            )
        return found.pop()  # type: ignore[return-value]
    fmt = _EXTENSIONS.get(Path(path.split("?")[0]).suffix.lower())
    if fmt is None:
        raise ValueError(
            f"The 'input' parameter must end in .parquet, .jsonl or .ndjson (or pass the format); got {path!r}."
        )
    return fmt


def read_input(path: str, fmt: str) -> Any:
    """A Ray dataset of raw input rows with a ``source`` column (``path`` or ``path:line``)."""
    import ray.data

    if fmt not in INPUT_FORMATS:
        raise ValueError(f"The 'fmt' parameter of read_input must be one of {INPUT_FORMATS}; got {fmt!r}.")
    if fmt == "parquet":
        return ray.data.read_parquet(path, include_paths=True, file_extensions=["parquet"])
    return ray.data.read_binary_files(path, include_paths=True).map_batches(
        split_lines, batch_format="pyarrow", batch_size=1
    )


def split_lines(table: pa.Table) -> pa.Table:
    """JSON Lines files (one row each) -> one row per non-blank line, numbered for the rejects file."""
    paths: list[str] = []
    lines: list[int] = []
    raws: list[bytes] = []
    for data, path in zip(table.column("bytes").to_pylist(), table.column("path").to_pylist(), strict=True):
        for number, line in enumerate(data.split(b"\n"), start=1):
            if line.strip():
                paths.append(path)
                lines.append(number)
                raws.append(line.rstrip(b"\r"))
    return pa.table(
        {
            "path": pa.array(paths, pa.string()),
            "line": pa.array(lines, pa.int64()),
            "raw": pa.array(raws, pa.binary()),
        }
    )


def iter_records(table: pa.Table) -> Iterator[tuple[Mapping[str, Any] | Reject, str]]:
    """``(record, source)`` per input row; a JSON Lines line that is not a JSON object is a Reject already."""
    if "raw" in table.column_names and "line" in table.column_names:
        for path, line, raw in zip(
            table.column("path").to_pylist(),
            table.column("line").to_pylist(),
            table.column("raw").to_pylist(),
            strict=True,
        ):
            source = f"{path}:{line}"
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as err:
                yield (
                    Reject(
                        source,
                        None,
                        "record",
                        f"is not UTF-8 ({err.reason} at byte {err.start})",
                        excerpt(raw),
                    ),
                    source,
                )
                continue
            except json.JSONDecodeError as err:
                yield (
                    Reject(
                        source,
                        None,
                        "record",
                        f"is not valid JSON ({err.msg} at column {err.colno})",
                        excerpt(raw.decode("utf-8", "replace")),
                    ),
                    source,
                )
                continue
            if not isinstance(record, dict):
                yield (
                    Reject(
                        source,
                        None,
                        "record",
                        f"must be a JSON object; got {type(record).__name__}",
                        excerpt(record),
                    ),
                    source,
                )
                continue
            yield record, source
        return
    columns = [c for c in INPUT_COLUMNS if c in table.column_names]
    paths = table.column("path").to_pylist() if "path" in table.column_names else ["input"] * table.num_rows
    values = {c: table.column(c).to_pylist() for c in columns}
    for i, path in enumerate(paths):
        yield {c: values[c][i] for c in columns}, path


# ---------------------------------------------------------------------------------------------- storage
def resolve_uri(path: str | Path) -> str:
    """An absolute local path or a URI (``s3://...``): Ray workers do not share the driver's cwd."""
    text = str(path)
    if "://" in text:
        return text
    return str(Path(text).expanduser().resolve())


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem for a local path or a URI, and the path inside it."""
    if "://" not in uri:
        return pafs.LocalFileSystem(), uri
    return pafs.FileSystem.from_uri(uri)


def write_bytes(uri: str, data: bytes) -> None:
    fs, path = filesystem(uri)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as handle:
        handle.write(data)


def write_rejects(uri: str, rejects: Sequence[Reject]) -> None:
    """The rejects file: one JSON object per line, in a fixed order so reruns give the same file."""
    lines = [
        json.dumps(r.to_dict(), ensure_ascii=False, sort_keys=True)
        for r in sorted(rejects, key=Reject.sort_key)
    ]
    write_bytes(uri, ("\n".join(lines) + "\n" if lines else "").encode("utf-8"))


def read_rejects(uri: str) -> list[dict[str, Any]]:
    fs, path = filesystem(uri)
    with fs.open_input_stream(path) as handle:
        text = handle.read().decode("utf-8")
    # split("\n"), not splitlines(): write_rejects keeps U+2028 and U+0085 raw inside a record.
    return [json.loads(line) for line in text.split("\n") if line.strip()]
