"""Pass one, per block of input rows: check each record, hash its images, normalize its text.

What comes out is everything the driver needs to build the near-duplicate indexes over the whole
input (the MinHash sketch of the normalized text, PDQ hashes with their quality) and to shard the
posts by author, plus the post itself for scoring; a bad record comes out as a reject row instead.
It runs as plain Ray tasks (no model needed), in parallel over the input's blocks, so the costly
per-post work (normalizing, sketching, decoding and hashing images) never runs on the driver.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow as pa

from model.normalize import normalize
from model.pdq import PdqHash, hash_bytes
from model.text_sketch import TextSketcher
from serve.batch.io import PostRecord, Reject, excerpt, iter_records, parse_record

#: Quality stored for a precomputed hash (PDQ quality is unknown, and such hashes are not gated).
UNKNOWN_QUALITY = -1

PREPARED_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("post_id", pa.string()),
        ("author_id", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("text", pa.string()),
        ("images", pa.list_(pa.binary())),
        ("image_hashes", pa.list_(pa.string())),
        ("sketch_key", pa.string()),
        ("pdq", pa.list_(pa.string())),
        ("pdq_quality", pa.list_(pa.int32())),
        ("content_hash", pa.string()),
        ("record_key", pa.string()),
        ("author_key", pa.int64()),
        ("reject_field", pa.string()),
        ("reject_reason", pa.string()),
        ("reject_record", pa.string()),
    ]
)

#: The columns the driver reads back to build the indexes and find repeated ids (no image bytes).
META_COLUMNS = [
    "source",
    "post_id",
    "author_id",
    "created_at",
    "sketch_key",
    "pdq",
    "pdq_quality",
    "content_hash",
    "record_key",
    "reject_field",
    "reject_reason",
    "reject_record",
]


def author_key(author_id: str | None, post_id: str) -> int:
    """A stable 63-bit number per author (per post when anonymous): what shards are cut from.

    All of an author's posts must land in one shard, scored in time order, for the account-history
    rule to see them as the service would; Python's ``hash`` is salted per process, so SHA-256.
    """
    name = f"author:{author_id}" if author_id is not None else f"post:{post_id}"
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") >> 1


def record_key(record: PostRecord, content_hash: str) -> str:
    """Identity of one record (id, author, time, content): tells repeated ids with different content apart."""
    parts = (record.post_id, record.author_id or "", record.created_at.isoformat(), content_hash)
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def prepare_record(record: PostRecord, sketcher: TextSketcher) -> dict[str, Any] | Reject:
    """Hash the images (a corrupt image rejects the record, as the service refuses it), sketch the text.

    ``sketcher`` must have the text index's parameters; ``sketch_key`` is None for a text too
    short to sketch (it is not indexed, as in :meth:`model.evidence.EvidenceFinder.add_post`).
    """
    hashes: list[PdqHash] = []
    for j, data in enumerate(record.images):
        try:
            hashes.append(hash_bytes(data, dihedral=True))
        except ValueError as err:  # ImageRejected is a ValueError
            return Reject(record.source, record.post_id, f"images[{j}]", str(err), excerpt(_as_dict(record)))
    hashes.extend(PdqHash(value) for value in record.image_hashes)
    content_hash = record.post_input().content_hash()
    sketch = sketcher.sketch(normalize(record.text).text)
    return {
        "source": record.source,
        "post_id": record.post_id,
        "author_id": record.author_id,
        "created_at": record.created_at,
        "text": record.text,
        "images": list(record.images),
        "image_hashes": list(record.image_hashes),
        "sketch_key": None if sketch is None else sketch.to_key(),
        "pdq": [h.hex for h in hashes],
        "pdq_quality": [UNKNOWN_QUALITY if h.quality is None else h.quality for h in hashes],
        "content_hash": content_hash,
        "record_key": record_key(record, content_hash),
        "author_key": author_key(record.author_id, record.post_id),
        "reject_field": None,
        "reject_reason": None,
        "reject_record": None,
    }


def prepare_batch(table: pa.Table, sketcher_params: dict[str, int]) -> pa.Table:
    """Ray ``map_batches`` function: raw input rows -> :data:`PREPARED_SCHEMA` rows."""
    sketcher = TextSketcher(**sketcher_params)
    rows: list[dict[str, Any]] = []
    for record, source in iter_records(table):
        parsed = record if isinstance(record, Reject) else parse_record(record, source)
        prepared = parsed if isinstance(parsed, Reject) else prepare_record(parsed, sketcher)
        rows.append(_reject_row(prepared) if isinstance(prepared, Reject) else prepared)
    return pa.Table.from_pylist(rows, schema=PREPARED_SCHEMA)


def _reject_row(reject: Reject) -> dict[str, Any]:
    return {
        "source": reject.source,
        "post_id": reject.post_id,
        "reject_field": reject.field,
        "reject_reason": reject.reason,
        "reject_record": reject.record,
    }


def _as_dict(record: PostRecord) -> dict[str, Any]:
    return {
        "post_id": record.post_id,
        "author_id": record.author_id,
        "created_at": record.created_at,
        "text": record.text,
        "images": list(record.images),
        "image_hashes": list(record.image_hashes),
    }
