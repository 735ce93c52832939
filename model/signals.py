"""The two interfaces every near-duplicate check is written against: a signal type and an index.

Fabricated proof is spread by reuse: one screenshot or one piece of copywriting posted, lightly
edited, by dozens of accounts. Two signal types find that reuse — a PDQ image hash
(:mod:`model.pdq`) and a MinHash text sketch (:mod:`model.text_sketch`) — and each has an index
(:mod:`model.hamming_index`, :mod:`model.text_sketch`). The Scorer and the evidence module talk
only to the small contract below, never to FAISS or to the sketch internals, so an index can be
swapped (a sharded one, a remote vector store) without touching them. The shape follows Meta's
python-threatexchange: a signal type validates and compares signal strings; an index is a
separate generic class with add / query / save / load.

Contract (stable; the Scorer depends on it)::

    item = IndexedItem(key, post_id, author_id, created_at, image_id="", variant="")
    index.add([item, ...])                                   # key: PDQ hex / text sketch key
    index.query(signal, exclude_post_id=None) -> [Match(item, distance), ...]   # nearest first
    index.remove_post(post_id) -> number of items removed
    index.save(directory);  type(index).load(directory)     # no pickle: npy + JSON (+ FAISS)
    len(index)                                               # live items

``distance`` is in the signal's own unit: Hamming bits for PDQ (0..256), ``1 - Jaccard`` estimate
for text sketches (0..1). Lower is closer; a match is anything within the index's configured
threshold, which comes from the policy file through the constructor (the defaults below are
the published recommendations, documented where they are defined).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np

#: Format version written into every saved index directory; a mismatch refuses to load.
INDEX_FORMAT_VERSION = 1


def check_nonempty_str(value: object, parameter: str, owner: str) -> str:
    """Return ``value`` if it is a non-empty string; otherwise raise a ``ValueError`` naming it."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"The {parameter!r} parameter of {owner} must be a non-empty str; got {value!r} instead."
        )
    return value


def check_aware_datetime(value: object, parameter: str, owner: str) -> datetime:
    """Return ``value`` if it is a timezone-aware datetime.

    Naive datetimes are refused rather than guessed: posts arrive from many time zones and a
    silent local-time assumption would shift "since Tuesday" in every reason string.
    """
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"The {parameter!r} parameter of {owner} must be a timezone-aware datetime; got {value!r} instead."
        )
    return value


@dataclass(frozen=True)
class IndexedItem:
    """One indexed signal and the post it came from.

    ``key`` is the signal in string form (a 64-hex-digit PDQ hash, or a text sketch key from
    :meth:`model.text_sketch.TextSketch.to_key`). ``image_id`` tells apart several images of
    one post; ``variant`` is ``""`` for the whole image and names the sub-window for the extra
    crop-tolerant hashes (several items of one image share its ``image_id``).
    Times are stored and returned in UTC.
    """

    key: str
    post_id: str
    author_id: str
    created_at: datetime
    image_id: str = ""
    variant: str = ""

    def __post_init__(self) -> None:
        check_nonempty_str(self.key, "key", "IndexedItem")
        check_nonempty_str(self.post_id, "post_id", "IndexedItem")
        check_nonempty_str(self.author_id, "author_id", "IndexedItem")
        check_aware_datetime(self.created_at, "created_at", "IndexedItem")
        if not isinstance(self.image_id, str):
            raise ValueError(
                f"The 'image_id' parameter of IndexedItem must be a str; got {self.image_id!r} instead."
            )
        if not isinstance(self.variant, str):
            raise ValueError(
                f"The 'variant' parameter of IndexedItem must be a str; got {self.variant!r} instead."
            )


@dataclass(frozen=True)
class Match:
    """An indexed item found near a query, with its distance in the signal's unit (lower = closer)."""

    item: IndexedItem
    distance: float


@runtime_checkable
class NearDupIndex(Protocol):
    """One interface for the image and the text index (see the module docstring for units)."""

    def add(self, items: Sequence[IndexedItem]) -> None:
        """Add items; their keys must be valid signals of the index's type."""
        ...

    def query(self, signal: Any, *, exclude_post_id: str | None = None) -> list[Match]:
        """Items within the index's threshold of ``signal``, nearest first, one per indexed image/text."""
        ...

    def remove_post(self, post_id: str) -> int:
        """Remove every item of ``post_id`` (a deleted post must stop counting as evidence)."""
        ...

    def save(self, directory: Path) -> None:
        """Write the index under ``directory`` (created if missing) without pickle."""
        ...

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Read an index written by :meth:`save`."""
        ...

    def __len__(self) -> int:
        """Number of live (not removed) items."""
        ...


class SignalType(Protocol):
    """A near-duplicate signal: how to validate and compare its string form, and which index holds it."""

    name: ClassVar[str]

    @classmethod
    def validate(cls, signal: str) -> str:
        """Return the canonical form of ``signal`` or raise ``ValueError`` naming it."""
        ...

    @classmethod
    def compare(cls, a: str, b: str, *, threshold: float | None = None) -> tuple[bool, float]:
        """``(is_match, distance)`` of two signal strings at ``threshold`` (the default if None)."""
        ...

    @classmethod
    def index_cls(cls) -> type[NearDupIndex]:
        """The index class that stores this signal type."""
        ...


def to_utc(moment: datetime) -> datetime:
    """The same instant in UTC: the indexes keep one time zone so windows compare correctly."""
    return moment.astimezone(UTC)


def utc_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch (how indexes store ``created_at`` in npy columns)."""
    delta = to_utc(moment) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_utc_micros(micros: int) -> datetime:
    """Inverse of :func:`utc_micros`, always tz-aware UTC."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))


# ---- persistence helpers shared by the indexes (npy + JSON, never pickle) -------------------
def write_npy(path: Path, array: np.ndarray) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
    os.replace(temporary, path)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def read_npy(path: Path, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    if not path.is_file():
        raise ValueError(f"The index file {path} is missing.")
    array = np.load(path, allow_pickle=False)
    if array.dtype != np.dtype(dtype) or array.shape != shape:
        raise ValueError(
            f"The index file {path} holds {array.dtype} {array.shape}; expected {np.dtype(dtype)} {shape}."
        )
    return array


def read_index_meta(directory: Path, kind: str) -> dict[str, Any]:
    path = directory / "meta.json"
    if not path.is_file():
        raise ValueError(
            f"The 'directory' parameter must hold a saved index (meta.json); got {str(directory)!r} instead."
        )
    meta = json.loads(path.read_text(encoding="utf-8"))
    if meta.get("format") != INDEX_FORMAT_VERSION or meta.get("kind") != kind:
        raise ValueError(
            f"The index in {directory} is {meta.get('kind')!r} format {meta.get('format')!r}; "
            f"expected {kind!r} format {INDEX_FORMAT_VERSION}."
        )
    if not isinstance(meta.get("count"), int) or meta["count"] < 0:
        raise ValueError(f"The index in {directory} has an invalid count {meta.get('count')!r}.")
    return meta
