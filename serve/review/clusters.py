"""Near-duplicate clusters as the review page sees them: which posts, how many accounts, what is left.

A cluster is named by the scorer's evidence (``dup-<hash of its earliest post>``). Its members
are the posts stored with that ``cluster_id`` plus those recorded in ``cluster_members`` from
each score's evidence (:func:`serve.review.intake.record_clusters`), which adds the first post.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, desc, func, or_, select
from sqlalchemy.orm import Session

from serve.review.tables import ClusterMember, PostImage
from serve.store.tables import Post, ReviewItem


def cluster_of(session: Session, post: Post) -> str | None:
    """The cluster a post belongs to: its own ``cluster_id``, else the latest one it was seen in."""
    if post.cluster_id:
        return post.cluster_id
    return session.execute(
        select(ClusterMember.cluster_id)
        .where(ClusterMember.post_id == post.post_id)
        .order_by(desc(ClusterMember.seen_at))
        .limit(1)
    ).scalar_one_or_none()


def member_ids(cluster_id: str) -> Select[tuple[str]]:
    """A SELECT of the post ids in ``cluster_id`` (for ``IN (...)``)."""
    recorded = select(ClusterMember.post_id).where(ClusterMember.cluster_id == cluster_id)
    return select(Post.post_id).where(or_(Post.cluster_id == cluster_id, Post.post_id.in_(recorded)))


@dataclass(frozen=True)
class Member:
    post: Post
    item: ReviewItem | None
    thumbnails: int


@dataclass(frozen=True)
class ClusterView:
    """A cluster for the item page: its size, its time span, and the first ``limit`` posts."""

    cluster_id: str
    posts: int
    accounts: int
    first_seen: datetime | None
    last_seen: datetime | None
    members: list[Member]
    #: Posts a cluster action would decide now (no decision yet and not claimed by someone else).
    actionable: int


def view(session: Session, cluster_id: str, *, limit: int, actionable: int) -> ClusterView:
    ids = member_ids(cluster_id)
    posts, accounts, first, last = session.execute(
        select(
            func.count(),
            func.count(func.distinct(Post.author_id)),
            func.min(Post.created_at),
            func.max(Post.created_at),
        ).where(Post.post_id.in_(ids))
    ).one()
    thumbs = select(PostImage.post_id, func.count().label("n")).group_by(PostImage.post_id).subquery()
    rows = session.execute(
        select(Post, ReviewItem, thumbs.c.n)
        .outerjoin(ReviewItem, ReviewItem.post_id == Post.post_id)
        .outerjoin(thumbs, thumbs.c.post_id == Post.post_id)
        .where(Post.post_id.in_(ids))
        .order_by(Post.created_at.asc(), Post.post_id)
        .limit(limit)
    ).all()
    return ClusterView(
        cluster_id=cluster_id,
        posts=int(posts),
        accounts=int(accounts),
        first_seen=_aware(first),
        last_seen=_aware(last),
        members=[Member(post, item, int(n or 0)) for post, item, n in rows],
        actionable=actionable,
    )


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates bypass the column type on SQLite and come back naive (they are UTC)."""
    from datetime import UTC

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
