"""The append-only audit log: who did what, when, to what, and the state before and after.

Only :func:`append` writes it, always inside the caller's transaction, so an audit row exists
exactly when the change it describes was committed. The database refuses UPDATE and DELETE on
the table (triggers in migration ``0002_review_queue``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from serve.review.tables import AuditEntry
from serve.store.tables import utcnow

#: Events the review queue writes.
EVENTS = (
    "login",
    "login_failed",
    "logout",
    "decide",
    "undo",
    "account_created",
    "account_enabled",
    "account_disabled",
    "password_set",
)


class Actor(Protocol):
    id: int
    username: str


def append(
    session: Session,
    actor: Actor | None,
    event: str,
    target_type: str | None,
    target_id: str | None,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    detail: str | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one audit row (``actor`` None: the command line or an anonymous visitor)."""
    if event not in EVENTS:
        raise ValueError(f"The 'event' parameter of audit.append must be one of {EVENTS}; got {event!r}.")
    entry = AuditEntry(
        at=at or utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor=actor.username if actor is not None else "system",
        event=event,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        detail=detail,
    )
    session.add(entry)
    return entry


def recent(
    session: Session,
    *,
    limit: int = 200,
    event: str | None = None,
    actor: str | None = None,
    target_id: str | None = None,
) -> list[AuditEntry]:
    """Newest first, optionally for one event, actor or target (the admins' audit page)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if event:
        query = query.where(AuditEntry.event == event)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    return list(session.execute(query).scalars())
