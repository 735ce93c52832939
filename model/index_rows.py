"""Per-row bookkeeping shared by the near-duplicate indexes (:mod:`model.hamming_index`, :mod:`model.text_sketch`).

Why this exists: both indexes store one row per indexed signal — millions of rows — and keep
the same facts about each: which post and author it came from, when it was posted, and
whether it is still live. Post and author ids are interned (a row holds an int32 number, the
string is stored once), the columns are numpy arrays grown by doubling, and deleting a post
only tombstones its rows (a search structure built over row numbers stays valid); tombstones
are dropped when the index is saved. Keeping that in one :class:`RowTable` means a fix to
deletes, interning or persistence reaches both indexes at once.

A :class:`RowTable` takes no lock: each index calls it under its own ``RLock``. The
:class:`RowTableIndex` mixin gives an index the :class:`model.signals.NearDupIndex` methods that
only forward to its table (``remove_post``, ``__len__``, ``items``), so those are written once too.

On disk the table is one npy file per saved column (``<name>.npy``: the index's signals, such as
``codes.npy``), then ``post_idx.npy`` and ``author_idx.npy`` (int32, numbers into the ``posts``
and ``authors`` lists of the index's ``meta.json``) and ``created_us.npy`` (int64 UTC
microseconds) — one entry per live row. Columns derived from others (LSH band keys) are not
saved; the index rebuilds them at load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from model.signals import (
    IndexedItem,
    check_nonempty_str,
    from_utc_micros,
    read_index_meta,
    read_npy,
    utc_micros,
    write_npy,
)

#: Capacity of the first allocation: small indexes do not regrow on every add.
_MIN_CAPACITY = 1024


def _grown(array: np.ndarray, capacity: int) -> np.ndarray:
    """A zero-filled copy of ``array`` with ``capacity`` rows (the first rows copied over)."""
    grown = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


def _compact(indices: np.ndarray, values: list[str]) -> tuple[list[str], np.ndarray]:
    """The strings ``indices`` use, and the indices renumbered into that shorter list (int32)."""
    used, inverse = np.unique(indices, return_inverse=True)
    return [values[i] for i in used.tolist()], inverse.reshape(-1).astype(np.int32)


class _Interner:
    """Strings numbered in order of first appearance (a post or author id is stored once)."""

    def __init__(self, values: Sequence[str] = ()) -> None:
        self.values: list[str] = list(values)
        self.lookup: dict[str, int] = {value: number for number, value in enumerate(self.values)}

    def number(self, value: str) -> int:
        """The number of ``value``, assigning the next one if it is new."""
        number = self.lookup.get(value)
        if number is None:
            number = len(self.values)
            self.values.append(value)
            self.lookup[value] = number
        return number


class RowTable:
    """The rows of a near-duplicate index: post, author, time and liveness, plus the index's own columns.

    ``columns`` names the index's fixed-width per-row arrays (e.g. ``{"codes": ((32,), np.uint8)}``);
    they grow together with the bookkeeping columns, so a row number means the same row in all
    of them. ``saved`` are those written to disk (the others are derived and rebuilt at load).
    ``n`` rows are used (live or tombstoned), ``live`` of them are live.
    """

    def __init__(self, columns: Mapping[str, tuple[tuple[int, ...], Any]], saved: Sequence[str]) -> None:
        unknown = set(saved) - set(columns)
        if unknown:
            raise ValueError(
                f"The 'saved' parameter of RowTable must name columns; got unknown {sorted(unknown)!r}."
            )
        self.saved = tuple(saved)
        self.n = 0
        self.live = 0
        self.columns: dict[str, np.ndarray] = {
            name: np.zeros((0, *shape), dtype=dtype) for name, (shape, dtype) in columns.items()
        }
        self.post_idx = np.zeros(0, dtype=np.int32)
        self.author_idx = np.zeros(0, dtype=np.int32)
        self.created_us = np.zeros(0, dtype=np.int64)
        self.alive = np.zeros(0, dtype=bool)
        self._posts = _Interner()
        self._authors = _Interner()
        self._rows_by_post: dict[int, list[int]] = {}

    # ---- adding -------------------------------------------------------------------------
    def reserve(self, needed: int) -> None:
        """Make room for ``needed`` rows (doubling, so appends stay amortized O(1))."""
        capacity = len(self.alive)
        if needed <= capacity:
            return
        capacity = max(needed, 2 * capacity, _MIN_CAPACITY)
        self.columns = {name: _grown(array, capacity) for name, array in self.columns.items()}
        self.post_idx = _grown(self.post_idx, capacity)
        self.author_idx = _grown(self.author_idx, capacity)
        self.created_us = _grown(self.created_us, capacity)
        self.alive = _grown(self.alive, capacity)

    def append(self, items: Sequence[IndexedItem]) -> tuple[int, int]:
        """Add live rows for ``items``; returns ``(start, stop)`` so the caller fills its own columns."""
        start, stop = self.n, self.n + len(items)
        self.reserve(stop)
        for row, item in enumerate(items, start):
            post = self._posts.number(item.post_id)
            self.post_idx[row] = post
            self.author_idx[row] = self._authors.number(item.author_id)
            self.created_us[row] = utc_micros(item.created_at)
            self._rows_by_post.setdefault(post, []).append(row)
        self.alive[start:stop] = True
        self.n = stop
        self.live += len(items)
        return start, stop

    # ---- reading ------------------------------------------------------------------------
    def post_number(self, post_id: str | None) -> int:
        """The interned number of ``post_id``, or -1 (no row has it) when it was never added or is None."""
        if post_id is None:
            return -1
        return self._posts.lookup.get(post_id, -1)

    def live_rows(self) -> np.ndarray:
        """Row numbers of the live rows, in insertion order."""
        return np.flatnonzero(self.alive[: self.n])

    def item(self, row: int, key: str, **extra: str) -> IndexedItem:
        """The :class:`IndexedItem` of ``row``; the index supplies the key and any extra fields."""
        return IndexedItem(
            key=key,
            post_id=self._posts.values[int(self.post_idx[row])],
            author_id=self._authors.values[int(self.author_idx[row])],
            created_at=from_utc_micros(int(self.created_us[row])),
            **extra,
        )

    def items(
        self, lock: AbstractContextManager[Any], item: Callable[[int], IndexedItem]
    ) -> list[IndexedItem]:
        """Every live item in insertion order; rows are listed under ``lock``, items built outside it."""
        with lock:
            rows = self.live_rows().tolist()
        return [item(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """The size figures every index reports in ``stats()``: items, tombstones, live posts and authors."""
        alive = self.alive[: self.n]
        return {
            "items": self.live,
            "tombstones": self.n - self.live,
            "posts": len({int(p) for p in self.post_idx[: self.n][alive]}),
            "authors": len({int(a) for a in self.author_idx[: self.n][alive]}),
        }

    # ---- removing -----------------------------------------------------------------------
    def remove_post(self, post_id: str) -> int:
        """Tombstone every row of ``post_id``; returns how many were live."""
        post = self._posts.lookup.get(post_id)
        if post is None:
            return 0
        rows = self._rows_by_post.pop(post, [])
        removed = int(self.alive[rows].sum()) if rows else 0
        self.alive[rows] = False
        self.live -= removed
        return removed

    # ---- persistence --------------------------------------------------------------------
    def save(self, directory: Path | str) -> tuple[Path, np.ndarray, dict[str, list[str]]]:
        """Write the live rows' columns under ``directory`` (created if missing), before the index's meta.json.

        Tombstoned rows are dropped and only the ids the live rows use are kept, renumbered, so
        deleted posts leave nothing behind. Returns the directory as a Path, the rows written (in
        file order) and the ``posts``/``authors`` lists the index puts in its ``meta.json``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        rows = self.live_rows()
        for name in self.saved:
            write_npy(directory / f"{name}.npy", self.columns[name][rows])
        posts, post_idx = _compact(self.post_idx[rows], self._posts.values)
        authors, author_idx = _compact(self.author_idx[rows], self._authors.values)
        write_npy(directory / "post_idx.npy", post_idx)
        write_npy(directory / "author_idx.npy", author_idx)
        write_npy(directory / "created_us.npy", self.created_us[rows])
        return directory, rows, {"posts": posts, "authors": authors}

    def restore(self, directory: Path, meta: Mapping[str, Any]) -> None:
        """Fill an empty table with the ``meta["count"]`` rows that :meth:`save` wrote, all live.

        Checks the files' shapes and dtypes and that every post/author number is in range; the
        caller then rebuilds its derived columns and search structures from the saved ones.
        """
        count = meta["count"]
        saved = {
            name: read_npy(
                directory / f"{name}.npy", (count, *self.columns[name].shape[1:]), self.columns[name].dtype
            )
            for name in self.saved
        }
        post_idx = read_npy(directory / "post_idx.npy", (count,), np.int32)
        author_idx = read_npy(directory / "author_idx.npy", (count,), np.int32)
        created_us = read_npy(directory / "created_us.npy", (count,), np.int64)
        posts, authors = list(meta["posts"]), list(meta["authors"])
        if count and (
            post_idx.max() >= len(posts)
            or author_idx.max() >= len(authors)
            or min(post_idx.min(), author_idx.min()) < 0
        ):
            raise ValueError(
                f"The index in {directory} is inconsistent: post or author numbers out of range."
            )
        self.reserve(count)
        for name, values in saved.items():
            self.columns[name][:count] = values
        self.post_idx[:count] = post_idx
        self.author_idx[:count] = author_idx
        self.created_us[:count] = created_us
        self.alive[:count] = True
        self._posts, self._authors = _Interner(posts), _Interner(authors)
        for row, post in enumerate(post_idx.tolist()):
            self._rows_by_post.setdefault(post, []).append(row)
        self.n = self.live = count


class RowTableIndex:
    """Mixin: the index methods that are nothing but the row table's, under the index's lock.

    The index sets ``_lock`` (an ``RLock``) and ``_table`` in ``__init__`` and defines ``_item``
    (the :class:`IndexedItem` of one row); the bookkeeping itself stays in the composed
    :class:`RowTable`, this only spares each index the same forwarding methods.
    """

    _lock: AbstractContextManager[Any]  # the index's RLock
    _table: RowTable

    def _item(self, row: int) -> IndexedItem:
        raise NotImplementedError

    def remove_post(self, post_id: str) -> int:
        """Tombstone every row of ``post_id`` (a deleted post must stop counting as evidence); returns how many were live."""
        check_nonempty_str(post_id, "post_id", f"{type(self).__name__}.remove_post")
        with self._lock:
            return self._table.remove_post(post_id)

    def __len__(self) -> int:
        """Number of live (not removed) rows."""
        return self._table.live

    def items(self) -> list[IndexedItem]:
        """Every live item, in insertion order (for export and tests)."""
        return self._table.items(self._lock, self._item)

    @staticmethod
    def _read_meta(directory: Path, kind: str) -> tuple[Path, dict[str, Any]]:
        """``directory`` as a Path and its checked ``meta.json`` (format, kind, count): the start of every ``load``."""
        directory = Path(directory)
        return directory, read_index_meta(directory, kind)
