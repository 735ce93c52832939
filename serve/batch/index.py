"""Between the passes, on the driver: settle repeated post ids and build the near-duplicate indexes.

The second pass scores every post against the image and text indexes of the *whole* input, so the
thirtieth copy of a screenshot and the first one both see the other twenty-nine: a network found in
yesterday's posts shows up whole, whatever order the dump was in. The indexes are built here in one
bulk ``add`` per index from what pass one computed in parallel (text sketches, PDQ hashes and their
quality), holding exactly the items :meth:`model.evidence.EvidenceFinder.add_post` would (a test
checks this), then saved (npy + JSON) and handed to the scoring actors as bytes, so a cluster needs
no shared file system.

The text index is built all-static (``static_min_size=1``): its default keeps up to 40k sketches in
a linearly scanned tail (about 4 ms per lookup at 20k), fine for a service that grows one post at a
time, wasteful for an index that is complete before the first lookup. Matches are the same either way.

A post id that occurs more than once is kept once (the earliest record, ties broken by content),
and the others go to the rejects file: scoring one id twice would make the output depend on which
copy ran last.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from model.evidence import EvidenceConfig, EvidenceFinder
from model.hamming_index import HammingIndex
from model.pdq import PdqHash
from model.signals import IndexedItem
from model.text_sketch import TextSketcher, TextSketchIndex
from serve.batch.io import Reject, excerpt
from serve.batch.prepare import UNKNOWN_QUALITY


def evidence_author(author_id: str | None, post_id: str) -> str:
    """The account a post is indexed under; a post without an author counts as its own account.

    This must be the Scorer's convention (``model/scorer.py``, ``Scorer._evidence``) exactly: the
    Scorer re-adds each post it scores, and a different name would change the index under it.
    """
    return author_id or f"anonymous:{post_id}"


@dataclass(frozen=True)
class PostMeta:
    """What the driver keeps per valid record (no text body, no image bytes)."""

    source: str
    post_id: str
    author_id: str | None
    created_at: datetime
    sketch_key: str | None
    pdq: tuple[str, ...]
    pdq_quality: tuple[int, ...]
    content_hash: str
    record_key: str

    @classmethod
    def from_row(cls, row: Mapping) -> PostMeta:
        return cls(
            source=row["source"],
            post_id=row["post_id"],
            author_id=row["author_id"],
            created_at=row["created_at"],
            sketch_key=row["sketch_key"],
            pdq=tuple(row["pdq"] or ()),
            pdq_quality=tuple(row["pdq_quality"] or ()),
            content_hash=row["content_hash"],
            record_key=row["record_key"],
        )

    def order_key(self) -> tuple[datetime, str, str, str, str]:
        return (self.created_at, self.author_id or "", self.content_hash, self.record_key, self.source)

    def hashes(self) -> list[PdqHash]:
        return [
            PdqHash(value, None if quality == UNKNOWN_QUALITY else quality)
            for value, quality in zip(self.pdq, self.pdq_quality, strict=True)
        ]


@dataclass
class Settled:
    """The outcome of :func:`settle_repeats`."""

    kept: list[PostMeta]
    #: record keys of repeated records whose content differs from the kept one (dropped before scoring)
    dropped: set[str]
    rejects: list[Reject]


def settle_repeats(metas: Iterable[PostMeta]) -> Settled:
    """Keep one record per post id: the earliest, ties broken by author and content hash."""
    by_id: dict[str, list[PostMeta]] = {}
    for meta in metas:
        by_id.setdefault(meta.post_id, []).append(meta)
    kept: list[PostMeta] = []
    dropped: set[str] = set()
    rejects: list[Reject] = []
    for post_id in sorted(by_id):
        group = sorted(by_id[post_id], key=PostMeta.order_key)
        winner = group[0]
        kept.append(winner)
        for other in group[1:]:
            same = other.record_key == winner.record_key
            if not same:
                dropped.add(other.record_key)
            reason = (
                "repeats an identical record; it is scored once"
                if same
                else f"repeats a record with different content; the one from {winner.source} created"
                f" {winner.created_at.isoformat()} is scored"
            )
            rejects.append(
                Reject(
                    other.source,
                    post_id,
                    "post_id",
                    reason,
                    excerpt(
                        {
                            "post_id": post_id,
                            "author_id": other.author_id,
                            "created_at": other.created_at,
                            "content_sha256": other.content_hash,
                        }
                    ),
                )
            )
    kept.sort(key=lambda m: (m.created_at, m.post_id))
    return Settled(kept=kept, dropped=dropped, rejects=rejects)


def sketcher_params() -> dict[str, int]:
    """The text sketch parameters pass one must use: those of the index :func:`build_evidence` builds."""
    return TextSketcher().params()


def build_evidence(kept: Iterable[PostMeta], config: EvidenceConfig) -> EvidenceFinder:
    """Both indexes over every kept post; the items ``EvidenceFinder.add_post`` would add, in one call each.

    As in ``add_post``: the i-th image hash of a post is ``{post_id}#{i}``, hashes under the quality
    gate are not indexed (unknown quality passes), a text too short to sketch is not indexed.
    """
    images = HammingIndex(radius=config.pdq_radius)
    texts = TextSketchIndex(
        min_similarity=config.text_min_similarity,
        sketcher=TextSketcher(**sketcher_params()),
        static_min_size=1,
    )
    image_items: list[IndexedItem] = []
    text_items: list[IndexedItem] = []
    for meta in kept:
        author = evidence_author(meta.author_id, meta.post_id)
        for i, image_hash in enumerate(meta.hashes()):
            if image_hash.passes_quality(config.pdq_min_quality):
                image_items.append(
                    IndexedItem(
                        image_hash.hex, meta.post_id, author, meta.created_at, image_id=f"{meta.post_id}#{i}"
                    )
                )
        if meta.sketch_key is not None:
            text_items.append(IndexedItem(meta.sketch_key, meta.post_id, author, meta.created_at))
    images.add(image_items)
    texts.add(text_items)
    return EvidenceFinder(images, texts, config)


def pack_directory(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` by relative path: a saved index or release, ready to ship to actors."""
    directory = Path(directory)
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def unpack_directory(files: Mapping[str, bytes], directory: Path) -> Path:
    """Write what :func:`pack_directory` packed under ``directory`` (refusing paths that leave it)."""
    directory = Path(directory)
    root = directory.resolve()
    for name, data in files.items():
        target = (directory / name).resolve()
        if root not in target.parents:
            raise ValueError(f"The 'files' parameter of unpack_directory names a path outside it: {name!r}.")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return directory


def packed_evidence(finder: EvidenceFinder) -> dict[str, bytes]:
    """Save the indexes to a temporary folder and pack them."""
    with tempfile.TemporaryDirectory(prefix="feedguard-index-") as tmp:
        finder.save(Path(tmp))
        return pack_directory(Path(tmp))
