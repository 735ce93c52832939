"""What the scoring path records for the review page, beyond the scores themselves.

Two things a moderator needs that ``posts`` does not keep:

* **Cluster membership** (:func:`record_clusters`), called inside the same transaction that
  stores the scores: each score's evidence names its cluster and the earlier posts it matched,
  so the cluster's first post (the upline's original, whose own ``cluster_id`` is empty) is
  found too.
* **Thumbnails** (:func:`save_thumbnails`), made after the response has gone out (a background
  task), because the scoring path keeps only PDQ hashes and a moderator has to *see* the
  screenshot. Images are decoded under the same guard as for hashing (:mod:`model.image_io`);
  an image that cannot be decoded simply gets no thumbnail.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from model.image_io import DecodeLimits, ImageRejected, decode_image
from serve.review.tables import ClusterMember, PostImage
from serve.store.db import Store
from serve.store.tables import utcnow

log = logging.getLogger("feedguard.review")


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def record_clusters(session: Session, pairs: Sequence[tuple[Any, Any]]) -> int:
    """Record (cluster, post) for every scored post with duplicate evidence and for the posts it matched.

    ``pairs`` are ``(PostInput, ScoreResult)`` as the score route stores them. Returns rows offered.
    """
    now = utcnow()
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for _post, result in pairs:
        evidence = getattr(result, "evidence", None) or {}
        cluster = evidence.get("cluster_id")
        if not cluster:
            continue
        members = {result.post_id}
        for key in ("image_matches", "text_matches"):
            members.update(str(m["post_id"]) for m in evidence.get(key) or () if m.get("post_id"))
        for post_id in members:
            rows[(str(cluster), post_id)] = {"cluster_id": str(cluster), "post_id": post_id, "seen_at": now}
    if not rows:
        return 0
    stmt = _insert(session)(ClusterMember).values(list(rows.values()))
    session.execute(stmt.on_conflict_do_nothing(index_elements=["cluster_id", "post_id"]))
    return len(rows)


def make_thumbnail(data: bytes, *, side: int, quality: int) -> tuple[bytes, int, int]:
    """(WebP bytes, width, height) no larger than ``side``; raises ``ImageRejected`` for bad images."""
    image = decode_image(data, DecodeLimits(max_side=side))
    if max(image.size) > side:
        image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=quality, method=4)
    return buffer.getvalue(), image.width, image.height


def save_thumbnails(
    store: Store, posts: Sequence[tuple[str, Sequence[bytes], Sequence[str]]], *, side: int, quality: int
) -> int:
    """Store thumbnails for ``(post_id, image bytes, pdq hex per image)``; returns thumbnails written.

    Replaces a post's earlier thumbnails (its content changed). Runs after the score response,
    so a store outage only costs thumbnails: it is logged, not raised.
    """
    rows: list[dict[str, Any]] = []
    touched: list[str] = []
    for post_id, images, hashes in posts:
        if not images:
            continue
        touched.append(post_id)
        for position, (data, pdq) in enumerate(zip(images, hashes, strict=False)):
            try:
                thumb, width, height = make_thumbnail(data, side=side, quality=quality)
            except ImageRejected as err:
                log.info("no thumbnail for %s image %d: %s", post_id, position, err.reason)
                continue
            rows.append(
                {
                    "post_id": post_id,
                    "position": position,
                    "pdq_hash": pdq,
                    "width": width,
                    "height": height,
                    "mime": "image/webp",
                    "thumbnail": thumb,
                    "created_at": utcnow(),
                }
            )
    if not touched:
        return 0
    try:
        with store.write() as session:
            session.execute(delete(PostImage).where(PostImage.post_id.in_(touched)))
            if rows:
                session.execute(_insert(session)(PostImage).values(rows).on_conflict_do_nothing())
    except SQLAlchemyError as err:
        log.warning("could not store %d thumbnails: %s", len(rows), type(err).__name__)
        return 0
    return len(rows)
