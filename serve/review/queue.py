"""The queue: what a moderator sees next, filters and counters, and leases.

Order: ``priority`` (score x reach, see :func:`serve.store.repo.review_priority`) highest first,
newest first within a tie, then the item id, so the order is total and "next" and "previous"
are well defined.

Leases: opening an item claims it for ``lease_minutes``. A claim is one conditional ``UPDATE``
(take the row if its lease expired or is already ours) or, when no lease row exists, an
``INSERT`` whose primary key is the item; two moderators racing for one item cannot both win,
on SQLite (one writer at a time) or PostgreSQL (the row lock re-checks the condition, and the
primary key refuses the second insert). Deciding re-checks the lease in the decision's own
transaction (:mod:`serve.review.decisions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, literal, or_, select, type_coerce, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from model.labels import LABELS
from serve.review.tables import REVIEW_DECIDED, REVIEW_ESCALATED, Decision, Moderator, ReviewLease
from serve.store.tables import REVIEW_OPEN, Post, ReviewItem, utcnow

#: Reason kinds a queue can be filtered by (the scorer's, plus user reports).
REASON_KINDS = ("model", "evasion", "image_duplicate", "text_duplicate", "account_history", "report")
#: Queue views: what moderators work (open) and what admins resolve (escalated).
VIEWS = {"open": REVIEW_OPEN, "escalated": REVIEW_ESCALATED}
#: How many candidates one "next" tries to claim before giving up (others hold the rest).
CLAIM_ATTEMPTS = 25


@dataclass(frozen=True)
class Filters:
    """A queue view: status (``open`` or ``escalated``), and optionally one label and one reason kind."""

    view: str = "open"
    label: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ValueError(
                f"The 'view' filter must be one of {', '.join(VIEWS)}; got {self.view!r} instead."
            )
        if self.label is not None and self.label not in LABELS:
            raise ValueError(
                f"The 'label' filter must be one of {', '.join(LABELS)}; got {self.label!r} instead."
            )
        if self.reason is not None and self.reason not in REASON_KINDS:
            raise ValueError(
                f"The 'reason' filter must be one of {', '.join(REASON_KINDS)}; got {self.reason!r} instead."
            )

    @classmethod
    def parse(cls, view: str | None, label: str | None, reason: str | None) -> Filters:
        """From query parameters, where an empty string means "any"."""
        return cls(view=view or "open", label=label or None, reason=reason or None)

    def query(self) -> dict[str, str]:
        """The filters as query parameters (to carry them from page to page)."""
        out = {"view": self.view} if self.view != "open" else {}
        if self.label:
            out["label"] = self.label
        if self.reason:
            out["reason"] = self.reason
        return out


# ------------------------------------------------------------------ JSON containment, per dialect
def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def has_label(session: Session, label: str) -> ColumnElement[bool]:
    """``posts.labels`` (a JSON list) contains ``label``."""
    if _dialect(session) == "postgresql":
        return type_coerce(Post.labels, JSONB).contains([label])
    each = func.json_each(Post.labels).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == label))


def has_reason(session: Session, kind: str) -> ColumnElement[bool]:
    """``review_items.reasons`` (a JSON list of objects) has one of ``kind``."""
    if _dialect(session) == "postgresql":
        return type_coerce(ReviewItem.reasons, JSONB).contains([{"kind": kind}])
    each = func.json_each(ReviewItem.reasons).table_valued("value")
    return exists(
        select(literal(1)).select_from(each).where(func.json_extract(each.c.value, "$.kind") == kind)
    )


def _lease_free_for(moderator_id: int, now: datetime) -> ColumnElement[bool]:
    """No live lease by another moderator."""
    taken = exists(
        select(literal(1)).where(
            ReviewLease.review_item_id == ReviewItem.id,
            ReviewLease.expires_at > now,
            ReviewLease.moderator_id != moderator_id,
        )
    )
    return ~taken


def _filtered(session: Session, filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [ReviewItem.status == VIEWS[filters.view]]
    if filters.label:
        # Self-contained (EXISTS over posts), so it works whether or not the query joins posts.
        conditions.append(
            exists(
                select(literal(1))
                .select_from(Post)
                .where(Post.post_id == ReviewItem.post_id, has_label(session, filters.label))
                .correlate_except(Post)
            )
        )
    if filters.reason:
        conditions.append(has_reason(session, filters.reason))
    return conditions


ORDER = (ReviewItem.priority.desc(), ReviewItem.created_at.desc(), ReviewItem.id.desc())
REVERSED = (ReviewItem.priority.asc(), ReviewItem.created_at.asc(), ReviewItem.id.asc())


def _after(item: ReviewItem) -> ColumnElement[bool]:
    """Items that come after ``item`` in queue order."""
    return or_(
        ReviewItem.priority < item.priority,
        and_(ReviewItem.priority == item.priority, ReviewItem.created_at < item.created_at),
        and_(
            ReviewItem.priority == item.priority,
            ReviewItem.created_at == item.created_at,
            ReviewItem.id < item.id,
        ),
    )


def _before(item: ReviewItem) -> ColumnElement[bool]:
    return or_(
        ReviewItem.priority > item.priority,
        and_(ReviewItem.priority == item.priority, ReviewItem.created_at > item.created_at),
        and_(
            ReviewItem.priority == item.priority,
            ReviewItem.created_at == item.created_at,
            ReviewItem.id > item.id,
        ),
    )


@dataclass(frozen=True)
class QueueRow:
    item: ReviewItem
    post: Post
    leased_by: str | None
    lease_expires: datetime | None


def list_items(
    session: Session, moderator_id: int, filters: Filters, *, limit: int, offset: int = 0
) -> list[QueueRow]:
    """The queue page: items in order, with who holds each (others' live leases are shown, not hidden)."""
    now = utcnow()
    rows = session.execute(
        select(ReviewItem, Post, Moderator.username, ReviewLease.expires_at)
        .join(Post, Post.post_id == ReviewItem.post_id)
        .outerjoin(
            ReviewLease, and_(ReviewLease.review_item_id == ReviewItem.id, ReviewLease.expires_at > now)
        )
        .outerjoin(Moderator, Moderator.id == ReviewLease.moderator_id)
        .where(*_filtered(session, filters))
        .order_by(*ORDER)
        .limit(limit)
        .offset(offset)
    ).all()
    return [QueueRow(item, post, name, expires) for item, post, name, expires in rows]


@dataclass(frozen=True)
class Counters:
    """What is left: the whole view, what this moderator can take, per label and per reason kind."""

    total: int
    available: int
    escalated: int
    by_label: dict[str, int]
    by_reason: dict[str, int]
    decided_today_by_me: int
    decided_today: int


def counters(session: Session, moderator_id: int, filters: Filters) -> Counters:
    now = utcnow()
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)

    def count(*conditions: Any) -> int:
        return int(
            session.execute(
                select(func.count())
                .select_from(ReviewItem)
                .join(Post, Post.post_id == ReviewItem.post_id)
                .where(*conditions)
            ).scalar_one()
        )

    base = _filtered(session, filters)
    status_only = [ReviewItem.status == VIEWS[filters.view]]

    def decided(*conditions: Any) -> int:
        return int(
            session.execute(
                select(func.count())
                .select_from(Decision)
                .where(Decision.created_at >= day_start, Decision.undone_at.is_(None), *conditions)
            ).scalar_one()
        )

    return Counters(
        total=count(*base),
        available=count(*base, _lease_free_for(moderator_id, now)),
        escalated=count(ReviewItem.status == REVIEW_ESCALATED),
        by_label={label: count(*status_only, has_label(session, label)) for label in LABELS},
        by_reason={kind: count(*status_only, has_reason(session, kind)) for kind in REASON_KINDS},
        decided_today_by_me=decided(Decision.moderator_id == moderator_id),
        decided_today=decided(),
    )


# ------------------------------------------------------------------ leases
@dataclass(frozen=True)
class Claim:
    """The outcome of a claim: held by us (``ok``), or by ``holder`` until ``expires_at``."""

    ok: bool
    holder: str | None
    expires_at: datetime | None


def claim(session: Session, item_id: int, moderator_id: int, lease: timedelta) -> Claim:
    """Lease ``item_id`` to ``moderator_id`` (or extend our lease); see the module docstring."""
    now = utcnow()
    expires = now + lease
    result = session.execute(
        update(ReviewLease)
        .where(
            ReviewLease.review_item_id == item_id,
            or_(ReviewLease.expires_at <= now, ReviewLease.moderator_id == moderator_id),
        )
        .values(moderator_id=moderator_id, expires_at=expires, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        return Claim(True, None, expires)
    existing = session.execute(
        select(ReviewLease, Moderator.username)
        .join(Moderator, Moderator.id == ReviewLease.moderator_id)
        .where(ReviewLease.review_item_id == item_id)
    ).one_or_none()
    if existing is None:
        try:
            with session.begin_nested():
                session.add(
                    ReviewLease(
                        review_item_id=item_id, moderator_id=moderator_id, claimed_at=now, expires_at=expires
                    )
                )
                session.flush()
        except IntegrityError:
            existing = session.execute(
                select(ReviewLease, Moderator.username)
                .join(Moderator, Moderator.id == ReviewLease.moderator_id)
                .where(ReviewLease.review_item_id == item_id)
            ).one()
        else:
            return Claim(True, None, expires)
    lease_row, holder = existing
    return Claim(False, holder, lease_row.expires_at)


def release(session: Session, item_ids: Sequence[int], moderator_id: int) -> None:
    """Give back our leases on ``item_ids`` (after deciding, or when skipping past an item)."""
    if item_ids:
        session.execute(
            delete(ReviewLease)
            .where(ReviewLease.review_item_id.in_(list(item_ids)), ReviewLease.moderator_id == moderator_id)
            .execution_options(synchronize_session=False)
        )


def release_others(session: Session, moderator_id: int, *, keep: int) -> None:
    """Give back every lease of this moderator but ``keep``: a moderator works one item at a time."""
    session.execute(
        delete(ReviewLease)
        .where(ReviewLease.moderator_id == moderator_id, ReviewLease.review_item_id != keep)
        .execution_options(synchronize_session=False)
    )


def lease_of(session: Session, item_id: int) -> tuple[str, datetime] | None:
    """Who holds a live lease on ``item_id``, and until when."""
    row = session.execute(
        select(Moderator.username, ReviewLease.expires_at)
        .join(Moderator, Moderator.id == ReviewLease.moderator_id)
        .where(ReviewLease.review_item_id == item_id, ReviewLease.expires_at > utcnow())
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


# ------------------------------------------------------------------ next / previous
def next_item(
    session: Session,
    moderator_id: int,
    filters: Filters,
    lease: timedelta,
    *,
    after: ReviewItem | None = None,
    backwards: bool = False,
) -> ReviewItem | None:
    """Claim and return the next item this moderator can work, or None.

    With ``after``: the first claimable item after it in queue order, wrapping round to the top;
    with ``backwards``: the nearest one before it (no wrapping: "previous" at the top is nothing).
    Tries up to :data:`CLAIM_ATTEMPTS` candidates per pass, since another moderator may claim
    one between the query and the claim.
    """
    now = utcnow()
    conditions = [*_filtered(session, filters), _lease_free_for(moderator_id, now)]
    order = REVERSED if backwards else ORDER
    passes: list[list[ColumnElement[bool]]] = [conditions]
    if after is not None and backwards:
        passes = [[*conditions, _before(after)]]
    elif after is not None:
        passes = [[*conditions, _after(after)], [*conditions, ReviewItem.id != after.id]]
    for where in passes:
        candidates = (
            session.execute(select(ReviewItem).where(*where).order_by(*order).limit(CLAIM_ATTEMPTS))
            .scalars()
            .all()
        )
        for item in candidates:
            if claim(session, item.id, moderator_id, lease).ok:
                return item
    return None


def is_open(item: ReviewItem) -> bool:
    return item.status == REVIEW_OPEN


__all__ = [
    "CLAIM_ATTEMPTS",
    "REASON_KINDS",
    "REVIEW_DECIDED",
    "VIEWS",
    "Claim",
    "Counters",
    "Filters",
    "QueueRow",
    "claim",
    "counters",
    "is_open",
    "lease_of",
    "list_items",
    "next_item",
    "release",
    "release_others",
]
