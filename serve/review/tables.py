"""The review queue's tables, on the service's declarative base (migration ``0002_review_queue``).

Why these shapes:

* ``moderators`` and ``moderator_sessions``: sessions live in the store, not only in a signed
  cookie, so logout and disabling an account end a session at once, on every replica.
* ``review_leases``: one row per claimed item (the primary key is the item), so two moderators
  can never hold the same item: the second claim loses a conditional ``UPDATE`` or the insert.
* ``decisions``: one row per item decided, grouped by ``batch_id`` (a cluster action is one
  batch), never deleted: undo stamps ``undone_at``. The model's labels and scores at decision
  time are copied in, so agreement statistics do not move when a post is re-scored.
* ``audit_log``: append-only (database triggers refuse UPDATE and DELETE); actor and target
  are copied as values, not foreign keys, so the log outlives whatever it describes.
* ``cluster_members``: which posts belong to which near-duplicate cluster, recorded from each
  score's evidence (``posts.cluster_id`` alone misses the cluster's first post).
* ``post_images``: small WebP thumbnails of the images the feed sent with a post; the scoring
  path keeps only PDQ hashes, and a moderator has to *see* the screenshot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from serve.store.tables import ID_LENGTH, Base, JSONType, UTCDateTime, utcnow

#: Review item statuses added by the review queue (the scoring path writes ``open``).
REVIEW_DECIDED = "decided"
REVIEW_ESCALATED = "escalated"

#: Moderator roles: ``moderator`` decides; ``admin`` also manages accounts and reads the audit log.
ROLES = ("moderator", "admin")

#: What a decision does to the post (the moderator's resulting action).
DECISION_ACTIONS = ("label_seller", "hide", "clear", "escalate")
#: Per-label verdicts.
VERDICTS = ("confirm", "clear")


class Moderator(Base):
    __tablename__ = "moderators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ModeratorSession(Base):
    __tablename__ = "moderator_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: SHA-256 of the random session token; the token itself exists only in the signed cookie.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("moderators.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ReviewLease(Base):
    __tablename__ = "review_leases"

    review_item_id: Mapped[int] = mapped_column(
        ForeignKey("review_items.id", ondelete="CASCADE"), primary_key=True
    )
    moderator_id: Mapped[int] = mapped_column(ForeignKey("moderators.id"), index=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_moderator_created", "moderator_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(32), index=True)
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[str] = mapped_column(ForeignKey("posts.post_id", ondelete="CASCADE"), index=True)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("moderators.id"))
    #: ``{"hard_sell": "confirm" | "clear", ...}`` for every label.
    verdicts: Mapped[dict[str, str]] = mapped_column(JSONType)
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: ``item`` (this post) or ``cluster`` (applied to the post's whole duplicate cluster).
    scope: Mapped[str] = mapped_column(String(16))
    model_labels: Mapped[list[str]] = mapped_column(JSONType)
    model_scores: Mapped[dict[str, Any]] = mapped_column(JSONType)
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The item's status before this decision (what undo restores).
    previous_status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("moderators.id"), nullable=True)


class ClusterMember(Base):
    """A post seen in a near-duplicate cluster (the post itself, or a copy its evidence matched).

    ``posts.cluster_id`` misses the cluster's first post (it had no match when it was scored, and
    the cluster is named after it), so membership is recorded from each score's evidence.
    """

    __tablename__ = "cluster_members"

    cluster_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    post_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    target_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class PostImage(Base):
    __tablename__ = "post_images"

    post_id: Mapped[str] = mapped_column(ForeignKey("posts.post_id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    pdq_hash: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(32))
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


__all__ = [
    "DECISION_ACTIONS",
    "REVIEW_DECIDED",
    "REVIEW_ESCALATED",
    "ROLES",
    "VERDICTS",
    "AuditEntry",
    "ClusterMember",
    "Decision",
    "Moderator",
    "ModeratorSession",
    "PostImage",
    "ReviewLease",
]
