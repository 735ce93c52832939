"""Database tables (SQLAlchemy 2 declarative). API types live in ``serve.schemas``, not here.

The review page (issue 6) reads ``posts`` and ``review_items`` as they are: a post keeps what a
moderator needs to see (text, normalized text, author, time, per-label scores, action, reasons,
image hashes, duplicate cluster), and a review item keeps what orders the queue (priority,
report count, cluster size) and its status. New columns come by new migrations, never by editing
``0001_initial``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Longest id (post, author, user, reporter) the store accepts; the API enforces the same limit.
ID_LENGTH = 128
#: Review item statuses this service writes; issue 6 adds its own (claimed, decided, ...).
REVIEW_OPEN = "open"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no timezone type, so values are stored as naive UTC and handed back aware;
    PostgreSQL stores ``timestamptz``. Naive input is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"The store only takes timezone-aware datetimes; got naive {value.isoformat()}.")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: JSON on SQLite, JSONB on PostgreSQL (indexable if the review page wants to filter by reason).
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every FeedGuard table (issue 6 adds its tables to the same metadata)."""


class Post(Base):
    """A scored post, as last scored (re-scoring with changed content overwrites it)."""

    __tablename__ = "posts"

    post_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    author_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    text: Mapped[str] = mapped_column(Text)
    normalized_text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    scores: Mapped[dict[str, Any]] = mapped_column(JSONType)
    seller: Mapped[float] = mapped_column(Float)
    labels: Mapped[list[str]] = mapped_column(JSONType)
    action: Mapped[str] = mapped_column(String(16), index=True)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    tricks: Mapped[list[str]] = mapped_column(JSONType)
    image_hashes: Mapped[list[str]] = mapped_column(JSONType)
    cluster_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    cluster_accounts: Mapped[int] = mapped_column(Integer, default=0)
    model_version: Mapped[str | None] = mapped_column(String(64))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewItem(Base):
    """One post in the moderators' queue (flagged by the scorer, or reported by users)."""

    __tablename__ = "review_items"
    __table_args__ = (Index("ix_review_items_status_priority", "status", "priority"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("posts.post_id", ondelete="CASCADE"), unique=True
    )
    priority: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default=REVIEW_OPEN)
    #: Why it entered the queue first: "score" (review/hide action) or "report".
    source: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    cluster_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    cluster_accounts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Report(Base):
    """A user's report of a post; one per (post, reporter) so repeats cannot inflate priority."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("post_id", "reporter_id", name="uq_reports_post_reporter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("posts.post_id", ondelete="CASCADE"), index=True
    )
    reporter_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UserPreference(Base):
    """A viewer's feed preferences (today: hide seller posts)."""

    __tablename__ = "user_preferences"

    user_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    hide_seller_posts: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
