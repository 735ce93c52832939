"""MinHash sketches of normalized post text, and an LSH index that finds pasted copywriting.

An upline hands the same copy to every downline agent; they paste it with small edits (a
price, a name, an emoji, a line break). Character shingles of the normalized text
(:func:`model.normalize.normalize` — the one normalizer, so evasion spellings do not hide a
copy) survive such edits: a few changed characters alter a few shingles out of a hundred. The
Jaccard similarity of the shingle sets is estimated by MinHash and candidates are found by
banded LSH, then verified against the threshold on the full signature.

Why our own MinHash and banding instead of ``datasketch``: the signature here is a few numpy
operations over all shingles at once (no per-shingle SHA-1 in Python), persistence is npy +
JSON (datasketch's LSH persists by pickling), and the band tables are sorted arrays like the
image index rather than millions of dict entries. ``eval/bench_text_sketch.py`` compares both.

Only letters and digits count (CJK characters are letters): punctuation, emoji and spacing are
exactly what copy-pasters vary. Texts shorter than ``min_chars`` of those are not sketched:
"好的" or "早安" are posted identically by unrelated people every day.
"""

from __future__ import annotations

import base64
import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from model.index_rows import RowTable, RowTableIndex
from model.signals import (
    INDEX_FORMAT_VERSION,
    IndexedItem,
    Match,
    NearDupIndex,
    write_json,
)

#: Sketch parameters. 128 permutations estimate Jaccard to about +-0.04 (one standard error at 0.5).
DEFAULT_NUM_PERM = 128
#: Character 3-grams: Chinese bigrams are shared by unrelated texts far too often.
DEFAULT_SHINGLE = 3
DEFAULT_SEED = 1
#: Below this many letters/digits a text is too generic to say it was copied.
DEFAULT_MIN_CHARS = 12
#: Default match threshold on estimated Jaccard similarity (the policy file overrides it).
DEFAULT_MIN_SIMILARITY = 0.5

_KIND = "text-minhash"
_KEY_PREFIX = "mh1:"
_MASK64 = (1 << 64) - 1
_MAX_SHINGLE = 3  # three code points fit in 63 bits exactly, so shingles need no hashing to ids
DEFAULT_STATIC_MIN_SIZE = 20_000


def _splitmix64(state: int) -> tuple[int, int]:
    """One step of SplitMix64 in Python ints: permutation parameters must never depend on numpy's RNG."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer over a uint64 array (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _check_int(value: object, name: str, owner: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(
            f"The {name!r} parameter of {owner} must be an int in {low}..{high}; got {value!r} instead."
        )
    return value


@dataclass(frozen=True, eq=False)
class TextSketch:
    """A MinHash signature (``num_perm`` uint32 minima) of one text's shingle set."""

    signature: np.ndarray

    def __post_init__(self) -> None:
        signature = np.asarray(self.signature)
        if signature.ndim != 1 or signature.dtype != np.uint32 or len(signature) == 0:
            raise ValueError(
                f"The 'signature' parameter of TextSketch must be a 1-d uint32 array; "
                f"got {signature.dtype} {signature.shape} instead."
            )
        signature = signature.copy()
        signature.flags.writeable = False
        object.__setattr__(self, "signature", signature)

    @property
    def num_perm(self) -> int:
        return len(self.signature)

    def similarity(self, other: TextSketch) -> float:
        """Estimated Jaccard similarity of the two shingle sets."""
        if other.num_perm != self.num_perm:
            raise ValueError(
                f"The 'other' parameter of TextSketch.similarity must have {self.num_perm} permutations; "
                f"got {other.num_perm} instead."
            )
        return float(np.mean(self.signature == other.signature))

    def to_key(self) -> str:
        """The sketch as an :class:`IndexedItem` key (``mh1:`` + base64 of the little-endian signature)."""
        return _KEY_PREFIX + base64.urlsafe_b64encode(self.signature.astype("<u4").tobytes()).decode("ascii")

    @classmethod
    def from_key(cls, key: str) -> TextSketch:
        """Inverse of :meth:`to_key`; raises ``ValueError`` naming a malformed key."""
        if not isinstance(key, str) or not key.startswith(_KEY_PREFIX):
            raise ValueError(
                f"The 'key' parameter of TextSketch.from_key must start with {_KEY_PREFIX!r}; got {key!r:.40} instead."
            )
        try:
            raw = base64.urlsafe_b64decode(key[len(_KEY_PREFIX) :].encode("ascii"))
        except (ValueError, UnicodeEncodeError) as error:
            raise ValueError(
                f"The 'key' parameter of TextSketch.from_key is not valid base64: {key!r:.40}."
            ) from error
        if len(raw) == 0 or len(raw) % 4:
            raise ValueError(
                f"The 'key' parameter of TextSketch.from_key holds {len(raw)} bytes; expected a multiple of 4."
            )
        return cls(np.frombuffer(raw, dtype="<u4").astype(np.uint32))


class TextSketcher:
    """Turns normalized text into a :class:`TextSketch` (same parameters for indexing and querying)."""

    def __init__(
        self,
        *,
        num_perm: int = DEFAULT_NUM_PERM,
        shingle: int = DEFAULT_SHINGLE,
        seed: int = DEFAULT_SEED,
        min_chars: int = DEFAULT_MIN_CHARS,
    ) -> None:
        self.num_perm = _check_int(num_perm, "num_perm", "TextSketcher", 16, 1024)
        self.shingle = _check_int(shingle, "shingle", "TextSketcher", 1, _MAX_SHINGLE)
        self.seed = _check_int(seed, "seed", "TextSketcher", 0, _MASK64)
        self.min_chars = _check_int(min_chars, "min_chars", "TextSketcher", 1, 10_000)
        state = self.seed
        multipliers, offsets = [], []
        for _ in range(self.num_perm):
            state, a = _splitmix64(state)
            state, b = _splitmix64(state)
            multipliers.append(a | 1)  # odd multiplier: multiply-shift hashing
            offsets.append(b)
        self._a = np.array(multipliers, dtype=np.uint64)
        self._b = np.array(offsets, dtype=np.uint64)

    def params(self) -> dict[str, int]:
        return {
            "num_perm": self.num_perm,
            "shingle": self.shingle,
            "seed": self.seed,
            "min_chars": self.min_chars,
        }

    def content_chars(self, text: str) -> str:
        """The letters and digits of ``text``, lower-cased: what shingles are made of."""
        return "".join(ch for ch in text.lower() if ch.isalnum())

    def shingle_ids(self, text: str) -> np.ndarray | None:
        """Distinct shingles as uint64 ids (code points packed 21 bits each), or None if too short."""
        if not isinstance(text, str):
            raise ValueError(
                f"The 'text' parameter of TextSketcher must be a str; got {type(text).__name__} instead."
            )
        chars = self.content_chars(text)
        if len(chars) < max(self.min_chars, self.shingle):
            return None
        points = np.frombuffer(chars.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
        count = len(points) - self.shingle + 1
        ids = points[:count].copy()
        for offset in range(1, self.shingle):
            ids = (ids << np.uint64(21)) | points[offset : offset + count]
        return np.unique(ids)

    def sketch(self, text: str) -> TextSketch | None:
        """MinHash of the text's shingles, or ``None`` when the text is too short to attribute copying."""
        ids = self.shingle_ids(text)
        if ids is None:
            return None
        base = _mix64(ids)
        hashed = (base[:, None] * self._a[None, :] + self._b[None, :]) >> np.uint64(32)
        return TextSketch(hashed.min(axis=0).astype(np.uint32))


def _area(values: np.ndarray, grid: np.ndarray) -> float:
    """Trapezoid rule (numpy renamed ``trapz`` to ``trapezoid``; this works on both)."""
    if len(grid) < 2:
        return 0.0
    return float(np.sum((values[1:] + values[:-1]) * np.diff(grid)) / 2.0)


#: Probability that a pair exactly at the threshold becomes an LSH candidate.
LSH_RECALL_AT_THRESHOLD = 0.95


@functools.lru_cache(maxsize=64)
def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """``(bands, rows)`` for banded LSH at a Jaccard ``threshold``.

    Misses cost evidence while a spurious candidate costs one signature comparison, so: among
    the settings that make a pair *at* the threshold a candidate with probability at least
    :data:`LSH_RECALL_AT_THRESHOLD` (more above it), take the one with the fewest expected
    candidates below the threshold.
    """
    grid = np.linspace(0.0, threshold, 1001)
    best, best_cost = None, float("inf")
    fallback, fallback_hit = (num_perm, 1), -1.0
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            hit_at_threshold = 1.0 - (1.0 - threshold**rows) ** bands
            if hit_at_threshold > fallback_hit:
                fallback, fallback_hit = (bands, rows), hit_at_threshold
            if hit_at_threshold < LSH_RECALL_AT_THRESHOLD:
                continue
            cost = _area(1.0 - (1.0 - grid**rows) ** bands, grid)
            if cost < best_cost:
                best, best_cost = (bands, rows), cost
    return best if best is not None else fallback


class TextSketchIndex(RowTableIndex):
    """:class:`model.signals.NearDupIndex` over text sketches; ``distance = 1 - estimated Jaccard``.

    ``query`` takes a :class:`TextSketch` or the normalized text itself (sketched with this
    index's parameters; a text too short to sketch matches nothing).
    """

    kind: ClassVar[str] = _KIND

    def __init__(
        self,
        *,
        min_similarity: float = DEFAULT_MIN_SIMILARITY,
        sketcher: TextSketcher | None = None,
        static_min_size: int = DEFAULT_STATIC_MIN_SIZE,
    ) -> None:
        if (
            not isinstance(min_similarity, int | float)
            or isinstance(min_similarity, bool)
            or not 0.0 < min_similarity <= 1.0
        ):
            raise ValueError(
                f"The 'min_similarity' parameter of TextSketchIndex must be a number in (0, 1]; got {min_similarity!r} instead."
            )
        self.min_similarity = float(min_similarity)
        self.sketcher = sketcher or TextSketcher()
        self.static_min_size = _check_int(static_min_size, "static_min_size", "TextSketchIndex", 1, 1 << 40)
        self.bands, self.rows = lsh_bands(self.min_similarity, self.sketcher.num_perm)
        self._lock = threading.RLock()
        self._table = RowTable(
            {
                "signatures": ((self.sketcher.num_perm,), np.uint32),
                "band_keys": ((self.bands,), np.uint64),
            },
            saved=("signatures",),
        )
        self._static_n = 0
        self._sorted_keys: np.ndarray | None = None  # (bands, static_n) sorted band keys
        self._sorted_rows: np.ndarray | None = None  # (bands, static_n) row of each sorted key
        self._band_salt = _mix64(
            np.arange(1, self.bands + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        )

    def sketch(self, text: str) -> TextSketch | None:
        """Sketch normalized text with this index's parameters."""
        return self.sketcher.sketch(text)

    @property
    def _signatures(self) -> np.ndarray:
        """``(rows, num_perm)`` MinHash signatures (a column of the row table, grown with it)."""
        return self._table.columns["signatures"]

    @property
    def _band_keys(self) -> np.ndarray:
        """``(rows, bands)`` LSH band keys of each signature (a column of the row table)."""
        return self._table.columns["band_keys"]

    def _keys_of(self, signatures: np.ndarray) -> np.ndarray:
        """``(n, bands)`` uint64 key of each band of each signature."""
        used = (
            signatures[:, : self.bands * self.rows]
            .astype(np.uint64)
            .reshape(len(signatures), self.bands, self.rows)
        )
        keys = np.broadcast_to(self._band_salt, (len(signatures), self.bands)).copy()
        for r in range(self.rows):
            keys = _mix64(keys ^ used[:, :, r])
        return keys

    # ---- adding -------------------------------------------------------------------------
    def add(self, items: Sequence[IndexedItem]) -> None:
        """Add items whose ``key`` is :meth:`TextSketch.to_key` of a sketch made with this index's parameters."""
        items = list(items)
        signatures = []
        for position, item in enumerate(items):
            if not isinstance(item, IndexedItem):
                raise ValueError(
                    f"The 'items' parameter of TextSketchIndex.add must hold IndexedItem objects; "
                    f"got {type(item).__name__} at position {position} instead."
                )
            sketch = TextSketch.from_key(item.key)
            if sketch.num_perm != self.sketcher.num_perm:
                raise ValueError(
                    f"The 'items' parameter of TextSketchIndex.add holds a sketch of {sketch.num_perm} permutations "
                    f"at position {position}; this index uses {self.sketcher.num_perm}."
                )
            signatures.append(sketch.signature)
        if not items:
            return
        block = np.stack(signatures)
        keys = self._keys_of(block)
        with self._lock:
            start, stop = self._table.append(items)
            self._signatures[start:stop] = block
            self._band_keys[start:stop] = keys
            tail = stop - self._static_n
            if stop >= self.static_min_size and tail > max(self.static_min_size, self._static_n // 8):
                self._rebuild_static()

    def _rebuild_static(self) -> None:
        n = self._table.n
        keys = self._band_keys[:n].T  # (bands, n)
        order = np.argsort(keys, axis=1, kind="stable")
        self._sorted_rows = order.astype(np.int64)
        self._sorted_keys = np.take_along_axis(keys, order, axis=1)
        self._static_n = n

    # ---- querying -----------------------------------------------------------------------
    def query(self, signal: TextSketch | str, *, exclude_post_id: str | None = None) -> list[Match]:
        """Posts whose text is at least ``min_similarity`` similar (estimated Jaccard), nearest first."""
        if isinstance(signal, str):
            sketch = self.sketch(signal)
            if sketch is None:
                return []
        elif isinstance(signal, TextSketch):
            sketch = signal
        else:
            raise ValueError(
                f"The 'signal' parameter of TextSketchIndex.query must be a TextSketch or a str; "
                f"got {type(signal).__name__} instead."
            )
        if sketch.num_perm != self.sketcher.num_perm:
            raise ValueError(
                f"The 'signal' parameter of TextSketchIndex.query has {sketch.num_perm} permutations; "
                f"this index uses {self.sketcher.num_perm}."
            )
        keys = self._keys_of(sketch.signature[None, :])[0]
        with self._lock:
            rows = self._candidates(keys)
            excluded = self._table.post_number(exclude_post_id)
            if excluded >= 0:
                rows = rows[self._table.post_idx[rows] != excluded]
            rows = rows[self._table.alive[rows]]
            similarity = (self._signatures[rows] == sketch.signature[None, :]).mean(axis=1)
            keep = similarity >= self.min_similarity
            rows, similarity = rows[keep], similarity[keep]
            matches = [
                Match(self._item(row), float(1.0 - sim))
                for row, sim in zip(rows.tolist(), similarity.tolist(), strict=True)
            ]
        matches.sort(key=lambda m: (m.distance, m.item.created_at, m.item.post_id))
        return matches

    def _candidates(self, keys: np.ndarray) -> np.ndarray:
        found = []
        if self._sorted_keys is not None:
            for band in range(self.bands):
                column = self._sorted_keys[band]
                low = np.searchsorted(column, keys[band], side="left")
                high = np.searchsorted(column, keys[band], side="right")
                if high > low:
                    found.append(self._sorted_rows[band, low:high])
        if self._table.n > self._static_n:
            tail = self._band_keys[self._static_n : self._table.n]
            hits = np.flatnonzero((tail == keys[None, :]).any(axis=1))
            found.append(hits.astype(np.int64) + self._static_n)
        if not found:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(found))

    def _item(self, row: int) -> IndexedItem:
        return self._table.item(row, TextSketch(self._signatures[row]).to_key())

    def stats(self) -> dict[str, Any]:
        """Sizes and parameters, for ``feedguard`` index stats and the benchmarks."""
        with self._lock:
            return {
                "kind": _KIND,
                **self._table.counts(),
                "min_similarity": self.min_similarity,
                "bands": self.bands,
                "rows_per_band": self.rows,
                **self.sketcher.params(),
            }

    # ---- persistence --------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write live sketches: ``signatures.npy``, id columns as npy, strings in ``meta.json`` (written last)."""
        with self._lock:
            directory, rows, ids = self._table.save(directory)
            write_json(
                directory / "meta.json",
                {
                    "format": INDEX_FORMAT_VERSION,
                    "kind": _KIND,
                    "count": len(rows),
                    "min_similarity": self.min_similarity,
                    "static_min_size": self.static_min_size,
                    "sketcher": self.sketcher.params(),
                    **ids,
                },
            )

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Read an index written by :meth:`save` (validates format, kind and shapes)."""
        directory, meta = cls._read_meta(directory, _KIND)
        count = meta["count"]
        sketcher = TextSketcher(**meta["sketcher"])
        index = cls(
            min_similarity=float(meta["min_similarity"]),
            sketcher=sketcher,
            static_min_size=int(meta["static_min_size"]),
        )
        with index._lock:
            index._table.restore(directory, meta)
            index._band_keys[:count] = index._keys_of(index._signatures[:count])
            if count >= index.static_min_size:
                index._rebuild_static()
        return index


class TextSketchSignal:
    """The text-sketch signal type (see :class:`model.signals.SignalType`)."""

    name: ClassVar[str] = "text_minhash"

    @classmethod
    def validate(cls, signal: str) -> str:
        TextSketch.from_key(signal)
        return signal

    @classmethod
    def compare(cls, a: str, b: str, *, threshold: float | None = None) -> tuple[bool, float]:
        """``threshold`` is the minimum similarity (default :data:`DEFAULT_MIN_SIMILARITY`); distance = 1 - similarity."""
        minimum = DEFAULT_MIN_SIMILARITY if threshold is None else threshold
        similarity = TextSketch.from_key(a).similarity(TextSketch.from_key(b))
        return similarity >= minimum, 1.0 - similarity

    @classmethod
    def index_cls(cls) -> type[NearDupIndex]:
        return TextSketchIndex
