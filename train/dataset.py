"""Load a built dataset (``feedguard data build``) and the hand-written dev set as label matrices.

Training, calibration and evaluation all want the same thing from a split: the texts,
an ``(n, len(LABELS))`` 0/1 matrix in :data:`model.labels.LABELS` column order, and the
columns that slice the metrics (tricks, kind, family, source). This module is the one
place that turns the on-disk ``DatasetDict`` into that, so the column order cannot drift.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.labels import LABELS, labels_to_matrix

#: Splits a dataset build writes (see data/README.md).
SPLITS = ("train", "validation", "test", "evasion", "real_normal")
#: The name the hand-written dev set goes by in reports.
DEV_SPLIT = "dev"


@dataclass(frozen=True)
class TextSplit:
    """One split as arrays: texts, label matrix and the columns metrics are sliced by."""

    name: str
    texts: list[str]
    y: np.ndarray
    ids: list[str] = field(default_factory=list)
    tricks: list[tuple[str, ...]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    families: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.texts)
        if self.y.shape != (n, len(LABELS)):
            raise ValueError(
                f"The 'y' parameter of TextSplit must have shape ({n}, {len(LABELS)}); got {self.y.shape} instead."
            )
        for name in ("ids", "tricks", "kinds", "families", "sources"):
            column = getattr(self, name)
            if not column:
                fill: object = () if name == "tricks" else ""
                object.__setattr__(
                    self, name, [f"{self.name}-{i}" for i in range(n)] if name == "ids" else [fill] * n
                )
            elif len(column) != n:
                raise ValueError(
                    f"The {name!r} parameter of TextSplit must have {n} entries; got {len(column)} instead."
                )

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: Sequence[int] | np.ndarray) -> TextSplit:
        """The rows at ``index``, in that order."""
        idx = [int(i) for i in index]
        return TextSplit(
            name=self.name,
            texts=[self.texts[i] for i in idx],
            y=self.y[idx] if idx else np.zeros((0, len(LABELS)), dtype=np.float32),
            ids=[self.ids[i] for i in idx],
            tricks=[self.tricks[i] for i in idx],
            kinds=[self.kinds[i] for i in idx],
            families=[self.families[i] for i in idx],
            sources=[self.sources[i] for i in idx],
        )

    def sample(self, max_rows: int | None, seed: int) -> TextSplit:
        """A seeded random subset of at most ``max_rows`` rows (all rows when ``None``)."""
        if max_rows is None or len(self) <= max_rows:
            return self
        rng = np.random.default_rng(seed)
        return self.subset(np.sort(rng.choice(len(self), size=max_rows, replace=False)))


def concat(name: str, parts: Sequence[TextSplit]) -> TextSplit:
    """Several splits as one (the selection set is validation + dev)."""
    return TextSplit(
        name=name,
        texts=[t for p in parts for t in p.texts],
        y=np.concatenate([p.y for p in parts]) if parts else np.zeros((0, len(LABELS)), dtype=np.float32),
        ids=[f"{p.name}:{i}" for p in parts for i in p.ids],
        tricks=[t for p in parts for t in p.tricks],
        kinds=[k for p in parts for k in p.kinds],
        families=[f for p in parts for f in p.families],
        sources=[s for p in parts for s in p.sources],
    )


def check_source_repeat(source_repeat: object, where: str) -> tuple[tuple[str, int], ...]:
    """``source_repeat`` as given if it is ``((source, times), ...)`` with distinct sources and times >= 1."""
    ok = isinstance(source_repeat, tuple) and all(
        isinstance(pair, tuple)
        and len(pair) == 2
        and isinstance(pair[0], str)
        and pair[0]
        and isinstance(pair[1], int)
        and not isinstance(pair[1], bool)
        and 1 <= pair[1] <= 100
        for pair in source_repeat
    )
    if not ok or len({pair[0] for pair in source_repeat}) != len(source_repeat):
        raise ValueError(
            f"The 'source_repeat' parameter of {where} must be a tuple of distinct (source, times) pairs with"
            f" times in 1..100, e.g. (('handwritten', 4),); got {source_repeat!r} instead."
        )
    return source_repeat


def repeat_sources(split: TextSplit, source_repeat: tuple[tuple[str, int], ...]) -> TextSplit:
    """``split`` with each row of a listed source repeated ``times`` times (the copies follow the originals).

    Why: a source that is a small share of train (the hand-written posts are 5 %) gets more of the
    optimizer's steps without changing the data build. A source absent from the split is refused,
    so a misspelt name cannot quietly train on the plain split.
    """
    check_source_repeat(source_repeat, "repeat_sources")
    extra: list[int] = []
    for source, times in source_repeat:
        rows = [i for i, s in enumerate(split.sources) if s == source]
        if not rows:
            present = ", ".join(sorted(set(split.sources))) or "none"
            raise ValueError(
                f"The 'source_repeat' parameter names source {source!r}, which split {split.name!r} does not"
                f" have; its sources: {present}."
            )
        extra.extend(rows * (times - 1))
    return split.subset([*range(len(split)), *extra]) if extra else split


def dataset_path(data_dir: Path) -> Path:
    """``DIR/dataset`` of a build, with a clear error if the build is missing."""
    path = Path(data_dir) / "dataset"
    if not (path / "dataset_dict.json").is_file():
        raise ValueError(
            f"The 'data_dir' parameter must be a dataset build (DIR/dataset/dataset_dict.json); got"
            f" {str(data_dir)!r} instead (run `feedguard data build --out DIR`)."
        )
    return path


def _split_from_rows(name: str, ds) -> TextSplit:  # ds: datasets.Dataset
    columns = set(ds.column_names)
    if all(label in columns for label in LABELS):
        y = np.stack([np.asarray(ds[label], dtype=np.float32) for label in LABELS], axis=1)
    else:
        y = labels_to_matrix(ds["labels"])
    n = len(ds)

    def col(key: str, default: object) -> list:
        return list(ds[key]) if key in columns else [default] * n

    return TextSplit(
        name=name,
        texts=list(ds["text"]),
        y=y.reshape(n, len(LABELS)),
        ids=[str(v) for v in col("post_id", "")] if "post_id" in columns else [],
        tricks=[tuple(t or ()) for t in col("tricks", ())],
        kinds=[str(v or "") for v in col("kind", "")],
        families=[str(v or "") for v in col("family", "")],
        sources=[str(v or "") for v in col("source", "")],
    )


def load_splits(data_dir: Path, splits: Sequence[str] = SPLITS) -> dict[str, TextSplit]:
    """The named splits of a dataset build as :class:`TextSplit` objects."""
    from datasets import load_from_disk

    dd = load_from_disk(str(dataset_path(data_dir)))
    missing = [s for s in splits if s not in dd]
    if missing:
        raise ValueError(
            f"The dataset at {str(data_dir)!r} lacks split(s) {', '.join(missing)}; it has {', '.join(dd)}."
        )
    return {name: _split_from_rows(name, dd[name]) for name in splits}


def load_dev_split(path: Path | None = None) -> TextSplit | None:
    """The hand-written dev set (``data.devset``) as a split; ``None`` if it is not in this checkout."""
    try:
        from data.devset import load_devset
    except ImportError:
        return None
    rows = load_devset(path) if path is not None else load_devset()
    return TextSplit(
        name=DEV_SPLIT,
        texts=[r["text"] for r in rows],
        y=labels_to_matrix([r["labels"] for r in rows]),
        ids=[str(r["id"]) for r in rows],
        tricks=[tuple(r.get("tricks") or ()) for r in rows],
        kinds=[str(r.get("kind") or "") for r in rows],
        families=["hand-written"] * len(rows),
        sources=["devset"] * len(rows),
    )


def data_manifest_sha256(data_dir: Path) -> str:
    """sha256 of the build's manifest.json: the one hash that names the data a model saw."""
    path = Path(data_dir) / "manifest.json"
    if not path.is_file():
        raise ValueError(
            f"The 'data_dir' parameter must hold manifest.json; got {str(data_dir)!r} without it instead."
        )
    return hashlib.sha256(path.read_bytes()).hexdigest()
