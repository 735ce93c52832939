"""Repository functions: every read and write the service makes, in one place.

Handlers stay thin and call these with a session from :class:`serve.store.db.Store`; the
review page (issue 6) reuses them. Writes are upserts so that a re-sent post, a retried
request or a second replica cannot create duplicates.

Review priority (what orders the moderators' queue)::

    priority = score * (1 + cluster_accounts) + report_count

``score`` is the post's ``seller`` score, ``cluster_accounts`` the number of other accounts its
image or copywriting also appears under, ``report_count`` the distinct users who reported it.
Reach multiplies the model's confidence (a fabricated screenshot under 37 accounts outranks a
lone ad), and each report weighs as much as one post the model is certain about, so a post
the model missed still rises once users report it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from model.scorer import PostInput, ScoreResult
from serve.store.tables import REVIEW_OPEN, Post, Report, ReviewItem, UserPreference, utcnow

#: Actions that put a scored post into the review queue.
QUEUED_ACTIONS = ("review", "hide")


def review_priority(score: float, report_count: int, cluster_accounts: int) -> float:
    """Queue priority (see the module docstring for why this shape)."""
    return float(score) * (1 + int(cluster_accounts)) + int(report_count)


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _cluster(result: ScoreResult) -> tuple[str | None, int]:
    evidence = result.evidence or {}
    cluster = evidence.get("cluster_id")
    return (str(cluster) if cluster is not None else None), int(evidence.get("other_accounts") or 0)


@functools.cache
def _post_upsert(dialect: str) -> Any:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Post.__table__)
    return stmt.on_conflict_do_update(
        index_elements=["post_id"],
        set_={c.name: stmt.excluded[c.name] for c in Post.__table__.columns if c.name != "post_id"},
    )


@functools.cache
def _review_upsert(dialect: str) -> Any:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(ReviewItem.__table__)
    ex = stmt.excluded
    table = ReviewItem.__table__
    return stmt.on_conflict_do_update(
        index_elements=["post_id"],
        set_={
            # Re-scoring refreshes the evidence but keeps reports, status and the original entry time.
            "priority": ex.score * (1 + ex.cluster_accounts) + table.c.report_count,
            "reasons": ex.reasons,
            "score": ex.score,
            "cluster_id": ex.cluster_id,
            "cluster_accounts": ex.cluster_accounts,
            "updated_at": ex.updated_at,
        },
    )


def save_scored(session: Session, pairs: Sequence[tuple[PostInput, ScoreResult]], model_version: str) -> int:
    """Upsert scored posts, and queue the flagged ones for review. Returns rows written."""
    if not pairs:
        return 0
    now = utcnow()
    post_rows = []
    review_rows = []
    for post, result in pairs:
        cluster_id, cluster_accounts = _cluster(result)
        post_rows.append(
            {
                "post_id": result.post_id,
                "author_id": post.author_id,
                "created_at": post.created_at,
                "text": post.text,
                "normalized_text": result.normalized_text,
                "content_hash": result.content_hash,
                "scores": result.scores,
                "seller": result.seller,
                "labels": result.labels,
                "action": result.action,
                "reasons": result.reasons,
                "tricks": result.tricks,
                "image_hashes": result.image_hashes,
                "cluster_id": cluster_id,
                "cluster_accounts": cluster_accounts,
                "model_version": model_version,
                "scored_at": now,
            }
        )
        if result.action in QUEUED_ACTIONS:
            review_rows.append(
                {
                    "post_id": result.post_id,
                    "priority": review_priority(result.seller, 0, cluster_accounts),
                    "reasons": result.reasons,
                    "status": REVIEW_OPEN,
                    "source": "score",
                    "score": result.seller,
                    "report_count": 0,
                    "cluster_id": cluster_id,
                    "cluster_accounts": cluster_accounts,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    # One compiled statement run as executemany: compiling a 32-row multi-VALUES upsert on every
    # request cost more than the database did.
    dialect = session.get_bind().dialect.name
    session.execute(_post_upsert(dialect), post_rows)
    if review_rows:
        session.execute(_review_upsert(dialect), review_rows)
    return len(post_rows) + len(review_rows)


def get_post(session: Session, post_id: str) -> Post | None:
    return session.get(Post, post_id)


def get_preference(session: Session, user_id: str) -> UserPreference | None:
    return session.get(UserPreference, user_id)


def set_preference(session: Session, user_id: str, hide_seller_posts: bool) -> UserPreference:
    """Create or update a user's preferences; returns the stored row."""
    now = utcnow()
    stmt = _insert(session)(UserPreference).values(
        user_id=user_id, hide_seller_posts=hide_seller_posts, updated_at=now
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["user_id"], set_={"hide_seller_posts": hide_seller_posts, "updated_at": now}
        )
    )
    row = session.get(UserPreference, user_id, populate_existing=True)
    assert row is not None
    return row


@dataclass(frozen=True)
class Hidden:
    post_id: str
    action: str
    labels: list[str]
    reason: str


@dataclass(frozen=True)
class FeedDecision:
    hide_seller_posts: bool
    hide: list[Hidden]
    unknown: list[str]


def filter_feed(
    session: Session,
    viewer_id: str,
    post_ids: Sequence[str],
    moderator_actions: Mapping[str, str] | None = None,
) -> FeedDecision:
    """Which candidates to hide for ``viewer_id``, and why.

    Posts whose action is ``hide`` are hidden for every viewer; seller posts (any label over its
    threshold) are hidden for viewers with ``hide_seller_posts``. A moderator's decision in force
    (``moderator_actions``: post id -> ``hide``, ``label_seller`` or ``clear``) overrides the
    model, because a person looked at the post: ``hide`` hides it for everyone, ``label_seller``
    makes it a seller post, ``clear`` keeps it in every feed. Nothing is deleted. Candidates never
    scored are returned as ``unknown`` and not hidden (the filter fails open).
    """
    moderated = dict(moderator_actions or {})
    pref = session.get(UserPreference, viewer_id)
    hide_sellers = bool(pref.hide_seller_posts) if pref is not None else False
    rows = session.execute(
        select(Post.post_id, Post.action, Post.labels, Post.scores).where(Post.post_id.in_(list(post_ids)))
    ).all()
    found = {row.post_id: row for row in rows}
    hidden: list[Hidden] = []
    for pid in post_ids:
        row = found.get(pid)
        if row is None:
            continue
        labels = list(row.labels or [])
        described = ", ".join(f"{label} {float(row.scores.get(label, 0.0)):.2f}" for label in labels)
        decided = moderated.get(pid)
        if decided == "clear":
            continue
        if decided == "hide":
            hidden.append(Hidden(pid, "hide", labels, "hidden for every viewer by a moderator"))
        elif decided == "label_seller":
            if hide_sellers:
                hidden.append(
                    Hidden(pid, "label", labels, "seller post (moderator); viewer hides seller posts")
                )
        elif row.action == "hide":
            hidden.append(Hidden(pid, row.action, labels, f"hidden for every viewer by policy ({described})"))
        elif hide_sellers and labels:
            hidden.append(
                Hidden(pid, row.action, labels, f"seller post ({described}); viewer hides seller posts")
            )
    unknown = [pid for pid in post_ids if pid not in found]
    return FeedDecision(hide_seller_posts=hide_sellers, hide=hidden, unknown=unknown)


@dataclass(frozen=True)
class ReportOutcome:
    report_id: int
    duplicate: bool
    item: ReviewItem


def add_report(
    session: Session, post: Post, reporter_id: str, reason: str, note: str | None
) -> ReportOutcome:
    """Record a user's report and raise the post's review priority (once per reporter)."""
    existing = session.execute(
        select(Report).where(Report.post_id == post.post_id, Report.reporter_id == reporter_id)
    ).scalar_one_or_none()
    duplicate = existing is not None
    if existing is None:
        report = Report(
            post_id=post.post_id, reporter_id=reporter_id, reason=reason, note=note, created_at=utcnow()
        )
        try:
            with session.begin_nested():
                session.add(report)
                session.flush()
        except IntegrityError:
            # A concurrent request from the same reporter won the race: that report stands.
            duplicate = True
            report = session.execute(
                select(Report).where(Report.post_id == post.post_id, Report.reporter_id == reporter_id)
            ).scalar_one()
    else:
        report = existing
    count = session.execute(select(func.count()).where(Report.post_id == post.post_id)).scalar_one()
    item = session.execute(select(ReviewItem).where(ReviewItem.post_id == post.post_id)).scalar_one_or_none()
    now = utcnow()
    report_reason = {"kind": "report", "label": None, "detail": f"reported by a user as {reason}"}
    if item is None:
        item = ReviewItem(
            post_id=post.post_id,
            priority=review_priority(post.seller, count, post.cluster_accounts),
            reasons=[*post.reasons, report_reason],
            status=REVIEW_OPEN,
            source="report",
            score=post.seller,
            report_count=count,
            cluster_id=post.cluster_id,
            cluster_accounts=post.cluster_accounts,
            created_at=now,
            updated_at=now,
        )
        session.add(item)
    elif not duplicate:
        item.report_count = count
        item.priority = review_priority(item.score, count, item.cluster_accounts)
        if not any(
            r.get("kind") == "report" and r.get("detail") == report_reason["detail"] for r in item.reasons
        ):
            item.reasons = [*item.reasons, report_reason]
        item.updated_at = now
    session.flush()
    return ReportOutcome(report_id=report.id, duplicate=duplicate, item=item)


def review_queue(session: Session, *, status: str = REVIEW_OPEN, limit: int = 50) -> list[ReviewItem]:
    """Review items by priority, newest first within a tie (what the review page lists)."""
    return list(
        session.execute(
            select(ReviewItem)
            .where(ReviewItem.status == status)
            .order_by(ReviewItem.priority.desc(), ReviewItem.created_at.desc())
            .limit(limit)
        ).scalars()
    )
