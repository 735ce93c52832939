"""The stats page: decisions per day, model-moderator agreement per label, the most active clusters.

Agreement is measured on decisions in force (not undone, not escalations) against the model's
labels *as they were when the moderator decided* (copied into each decision), so re-scoring a
post later does not rewrite history. It is the confusion table per label: the model flagged
the label (over its ``label`` threshold) or not, the moderator confirmed it or cleared it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, func, select, union
from sqlalchemy.orm import Session

from model.labels import LABELS
from serve.review.tables import DECISION_ACTIONS, ClusterMember, Decision
from serve.store.tables import REVIEW_OPEN, Post, ReviewItem, utcnow


@dataclass(frozen=True)
class Day:
    day: date
    total: int
    by_action: dict[str, int]


def decisions_per_day(session: Session, *, days: int) -> list[Day]:
    """Decisions in force per UTC day, oldest first, every day of the window listed (zeros too)."""
    if not isinstance(days, int) or days < 1:
        raise ValueError(f"The 'days' parameter of decisions_per_day must be an int >= 1; got {days!r}.")
    today = utcnow().date()
    start = today - timedelta(days=days - 1)
    since = datetime(start.year, start.month, start.day, tzinfo=UTC)
    rows = session.execute(
        select(Decision.created_at, Decision.action).where(
            Decision.created_at >= since, Decision.undone_at.is_(None)
        )
    ).all()
    per: dict[date, Counter[str]] = defaultdict(Counter)
    for created, action in rows:
        per[created.astimezone(UTC).date()][action] += 1
    out = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        counts = per.get(day, Counter())
        out.append(Day(day, sum(counts.values()), {a: counts.get(a, 0) for a in DECISION_ACTIONS}))
    return out


@dataclass(frozen=True)
class Agreement:
    """One label's confusion table: model flagged (or not) x moderator confirmed (or cleared)."""

    label: str
    both: int
    model_only: int
    moderator_only: int
    neither: int

    @property
    def decided(self) -> int:
        return self.both + self.model_only + self.moderator_only + self.neither

    @property
    def agreement(self) -> float | None:
        return (self.both + self.neither) / self.decided if self.decided else None

    @property
    def precision(self) -> float | None:
        """Of the posts the model flagged, the share moderators confirmed."""
        flagged = self.both + self.model_only
        return self.both / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """Of the labels moderators confirmed, the share the model had flagged."""
        confirmed = self.both + self.moderator_only
        return self.both / confirmed if confirmed else None


def agreement(session: Session, *, since: datetime | None = None) -> list[Agreement]:
    query = select(Decision.model_labels, Decision.verdicts).where(
        Decision.undone_at.is_(None), Decision.action != "escalate"
    )
    if since is not None:
        query = query.where(Decision.created_at >= since)
    table = {label: Counter() for label in LABELS}
    for model_labels, verdicts in session.execute(query).all():
        flagged = set(model_labels or [])
        for label in LABELS:
            confirmed = (verdicts or {}).get(label) == "confirm"
            key = (
                ("both" if confirmed else "model_only")
                if label in flagged
                else ("moderator_only" if confirmed else "neither")
            )
            table[label][key] += 1
    return [
        Agreement(label, c["both"], c["model_only"], c["moderator_only"], c["neither"])
        for label, c in table.items()
    ]


@dataclass(frozen=True)
class ActiveCluster:
    cluster_id: str
    posts: int
    accounts: int
    open_items: int
    last_seen: datetime | None


def active_clusters(session: Session, *, days: int, limit: int) -> list[ActiveCluster]:
    """Clusters with the most posts scored in the last ``days`` days (accounts and open items beside)."""
    since = utcnow() - timedelta(days=days)
    members = union(
        select(ClusterMember.cluster_id.label("cluster_id"), ClusterMember.post_id.label("post_id")),
        select(Post.cluster_id.label("cluster_id"), Post.post_id.label("post_id")).where(
            Post.cluster_id.is_not(None)
        ),
    ).subquery()
    open_item = func.sum(case((ReviewItem.status == REVIEW_OPEN, 1), else_=0))
    rows = session.execute(
        select(
            members.c.cluster_id,
            func.count(func.distinct(Post.post_id)).label("posts"),
            func.count(func.distinct(Post.author_id)).label("accounts"),
            open_item.label("open_items"),
            func.max(Post.created_at).label("last_seen"),
        )
        .join(Post, Post.post_id == members.c.post_id)
        .outerjoin(ReviewItem, ReviewItem.post_id == Post.post_id)
        .where(Post.scored_at >= since)
        .group_by(members.c.cluster_id)
        .order_by(func.count(func.distinct(Post.post_id)).desc(), members.c.cluster_id)
        .limit(limit)
    ).all()
    out = []
    for cluster_id, posts, accounts, open_items, last_seen in rows:
        if isinstance(last_seen, str):
            last_seen = datetime.fromisoformat(last_seen)
        if last_seen is not None and last_seen.tzinfo is None:
            last_seen = last_seen.replace(tzinfo=UTC)
        out.append(ActiveCluster(cluster_id, int(posts), int(accounts), int(open_items or 0), last_seen))
    return out
