"""A synthetic feed dump for the batch job's tests and benchmarks (``feedguard batch generate``).

Posts come from the generator (:func:`data.generator.generate_posts`, with real sentences from the
installed corpora inside them) and are given authors, times and images by the feed simulator
(:func:`data.accounts.simulate_feed`): agent networks re-post one screenshot and one script under
many accounts within hours, which is what the batch job's near-duplicate pass must find. The
simulator spreads posts over its one-week window; the job does not care how long the span is.

The file looks like a platform dump: the batch input columns (``post_id``, ``author_id``,
``created_at``, ``text``, ``images`` as bytes, ``image_hashes``) plus ground-truth columns the job
ignores (``labels``, ``network_id``, ``copy_group``, ``image_template``, ``family``). Parquet is
written in row groups of :data:`ROW_GROUP_ROWS`, so Ray can read it in parallel; JSON Lines carry
images as base64, as the API does.
"""

from __future__ import annotations

import base64
import json
import random
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from data.accounts import simulate_feed
from data.generator import generate_posts
from data.sources import load_real_texts

DEFAULT_START = datetime(2026, 11, 16, tzinfo=UTC)
ROW_GROUP_ROWS = 1_000
#: Real sentences offered to the generator (a sample keeps generation fast; the pool has ~66k).
REAL_SAMPLE = 5_000

BATCH_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("author_id", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("text", pa.string()),
        ("images", pa.list_(pa.binary())),
        ("image_hashes", pa.list_(pa.string())),
        ("labels", pa.list_(pa.string())),
        ("network_id", pa.string()),
        ("copy_group", pa.string()),
        ("image_template", pa.string()),
        ("family", pa.string()),
    ]
)


@dataclass(frozen=True)
class GeneratedBatch:
    """What :func:`generate_batch` wrote."""

    path: Path
    posts: int
    images: int
    seller_posts: int
    networks: int
    accounts: int


def generate_batch(
    n_posts: int,
    out: Path,
    *,
    seed: int = 7,
    n_images: int | None = None,
    start: datetime = DEFAULT_START,
) -> GeneratedBatch:
    """Write ``n_posts`` synthetic feed posts to ``out`` (``.parquet`` or ``.jsonl``); deterministic per seed.

    ``n_images`` defaults to one image per ten posts (images are the slow part to render).
    """
    if isinstance(n_posts, bool) or not isinstance(n_posts, int) or n_posts < 1:
        raise ValueError(
            f"The 'n_posts' parameter of generate_batch must be an int >= 1; got {n_posts!r} instead."
        )
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".jsonl"):
        raise ValueError(
            f"The 'out' parameter of generate_batch must end in .parquet or .jsonl; got {str(out)!r}."
        )
    images = n_posts // 10 if n_images is None else n_images
    if isinstance(images, bool) or not isinstance(images, int) or images < 0:
        raise ValueError(
            f"The 'n_images' parameter of generate_batch must be an int >= 0; got {n_images!r} instead."
        )
    if start.tzinfo is None:
        raise ValueError(
            f"The 'start' parameter of generate_batch must be timezone-aware; got {start!r} instead."
        )

    real = [rt.text for rt in load_real_texts()]
    random.Random(f"batch-real:{seed}").shuffle(real)
    posts = generate_posts(n_posts, seed, real[:REAL_SAMPLE])
    with tempfile.TemporaryDirectory(prefix="feedguard-batch-gen-") as tmp:
        fed = simulate_feed(posts, Path(tmp), seed, start=start, n_images=images)
        rows = [_row(r, Path(tmp)) for r in fed]
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows, schema=BATCH_SCHEMA), out, row_group_size=ROW_GROUP_ROWS)
    else:
        with out.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(_json_row(row), ensure_ascii=False) + "\n")
    return GeneratedBatch(
        path=out,
        posts=len(rows),
        images=sum(len(r["images"]) for r in rows),
        seller_posts=sum(bool(r["labels"]) for r in rows),
        networks=len({r["network_id"] for r in rows if r["network_id"]}),
        accounts=len({r["author_id"] for r in rows}),
    )


def _row(fed: dict[str, Any], image_dir: Path) -> dict[str, Any]:
    return {
        "post_id": fed["post_id"],
        "author_id": fed["author_id"],
        "created_at": datetime.fromisoformat(fed["created_at"]).astimezone(UTC),
        "text": fed["text"],
        "images": [(image_dir / p).read_bytes() for p in fed["image_paths"]],
        "image_hashes": [],
        "labels": list(fed["labels"]),
        "network_id": fed["network_id"],
        "copy_group": fed["copy_group"],
        "image_template": fed["image_template"],
        "family": fed["family"],
    }


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "created_at": row["created_at"].isoformat(),
        "images": [base64.b64encode(data).decode("ascii") for data in row["images"]],
    }
