"""Decisions: written in one transaction, with their audit rows, before the page says "saved".

A decision gives every label a verdict (confirm / clear), an action (label the post as a
seller's, hide it, clear it, or escalate it to an admin) and an optional note. Deciding checks,
in the same transaction, that the item is still undecided and that no other moderator holds it
(:func:`serve.review.queue.claim`), then writes the ``decisions`` row, moves the item's status,
drops the lease and appends the audit row. The caller commits; only after the commit does the
page answer, so an acknowledged decision survives the process being killed.

A cluster decision applies the same verdicts to every post of the item's near-duplicate cluster
that has no decision yet and is not held by someone else ("confirm all 37"); posts of the
cluster that never entered the queue get a review item, so every decision hangs off one. It is
one batch: one undo takes it all back.

Undo never deletes: it stamps ``undone_at`` on the moderator's latest batch, puts each item back
in the status it had, and audits that too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from model.labels import LABELS
from serve.review import clusters, queue
from serve.review.accounts import Account
from serve.review.audit import append as audit
from serve.review.tables import (
    DECISION_ACTIONS,
    REVIEW_DECIDED,
    REVIEW_ESCALATED,
    VERDICTS,
    Decision,
    Moderator,
    ReviewLease,
)
from serve.store.repo import review_priority
from serve.store.tables import REVIEW_OPEN, Post, ReviewItem, utcnow

MAX_NOTE_CHARS = 1000
#: Labels that are deception (what "hide" is for); hard selling alone is labelled, not hidden.
DECEPTION_LABELS = ("recruitment", "fake_proof")
SCOPES = ("item", "cluster")


class ReviewConflict(Exception):
    """The item cannot be decided by this moderator now (decided already, or claimed by someone else)."""


class NothingToUndo(Exception):
    """The moderator has no decision left to undo."""


@dataclass(frozen=True)
class DecisionInput:
    """What the moderator chose; construction validates (``ValueError`` naming the field)."""

    verdicts: Mapping[str, str]
    action: str
    note: str | None = None

    def __post_init__(self) -> None:
        verdicts = dict(self.verdicts)
        if set(verdicts) != set(LABELS):
            raise ValueError(
                f"The 'verdicts' field must give a verdict for each of {', '.join(LABELS)};"
                f" got {sorted(verdicts)} instead."
            )
        bad = {k: v for k, v in verdicts.items() if v not in VERDICTS}
        if bad:
            raise ValueError(
                f"The 'verdicts' field takes {' or '.join(VERDICTS)} per label; got {bad} instead."
            )
        if self.action not in DECISION_ACTIONS:
            raise ValueError(
                f"The 'action' field must be one of {', '.join(DECISION_ACTIONS)}; got {self.action!r} instead."
            )
        confirmed = [label for label in LABELS if verdicts[label] == "confirm"]
        if self.action == "clear" and confirmed:
            raise ValueError(
                f"The 'action' field is 'clear' but labels {', '.join(confirmed)} are confirmed;"
                " clear them or pick another action."
            )
        if self.action in ("label_seller", "hide") and not confirmed:
            raise ValueError(
                f"The 'action' field is {self.action!r} but no label is confirmed; confirm one first."
            )
        note = (self.note or "").strip() or None
        if note is not None and len(note) > MAX_NOTE_CHARS:
            raise ValueError(
                f"The 'note' field must be at most {MAX_NOTE_CHARS} characters; got {len(note)}."
            )
        if note is not None and "\x00" in note:
            raise ValueError("The 'note' field must not contain NUL characters.")
        object.__setattr__(self, "verdicts", {label: verdicts[label] for label in LABELS})
        object.__setattr__(self, "note", note)

    @property
    def confirmed(self) -> list[str]:
        return [label for label in LABELS if self.verdicts[label] == "confirm"]

    @classmethod
    def confirm(cls, labels: list[str], note: str | None = None) -> DecisionInput:
        """Confirm ``labels`` (the others cleared) with the action they imply."""
        verdicts = {label: "confirm" if label in labels else "clear" for label in LABELS}
        return cls(verdicts, suggested_action(labels), note)

    @classmethod
    def clear_all(cls, note: str | None = None) -> DecisionInput:
        return cls(dict.fromkeys(LABELS, "clear"), "clear", note)


def suggested_action(confirmed: list[str]) -> str:
    """The action that fits the confirmed labels: deception is hidden, selling labelled, nothing cleared."""
    if any(label in DECEPTION_LABELS for label in confirmed):
        return "hide"
    return "label_seller" if confirmed else "clear"


@dataclass
class Outcome:
    batch_id: str
    decided: list[int] = field(default_factory=list)
    #: Items of a cluster left alone: ``{item id or post id: why}``.
    skipped: dict[str, str] = field(default_factory=dict)


def _status_after(action: str) -> str:
    return REVIEW_ESCALATED if action == "escalate" else REVIEW_DECIDED


def _snapshot(item: ReviewItem, decision: Decision | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": item.status, "priority": item.priority}
    if decision is not None:
        out.update(
            decision_id=decision.id,
            batch_id=decision.batch_id,
            verdicts=dict(decision.verdicts),
            action=decision.action,
            note=decision.note,
            scope=decision.scope,
        )
    return out


def _write(
    session: Session,
    item: ReviewItem,
    post: Post,
    account: Account,
    choice: DecisionInput,
    *,
    batch_id: str,
    scope: str,
) -> Decision:
    before = _snapshot(item)
    row = Decision(
        batch_id=batch_id,
        review_item_id=item.id,
        post_id=post.post_id,
        moderator_id=account.id,
        verdicts=dict(choice.verdicts),
        action=choice.action,
        note=choice.note,
        scope=scope,
        model_labels=list(post.labels or []),
        model_scores=dict(post.scores or {}),
        model_version=post.model_version,
        previous_status=item.status,
        created_at=utcnow(),
    )
    session.add(row)
    item.status = _status_after(choice.action)
    item.updated_at = row.created_at
    session.flush()
    audit(
        session,
        account,
        "decide",
        "review_item",
        str(item.id),
        before=before,
        after=_snapshot(item, row),
        detail=f"post {post.post_id}" + (f", cluster batch {batch_id}" if scope == "cluster" else ""),
    )
    return row


def decidable_statuses(account: Account) -> tuple[str, ...]:
    return (REVIEW_OPEN, REVIEW_ESCALATED) if account.is_admin else (REVIEW_OPEN,)


def decide(
    session: Session,
    item_id: int,
    account: Account,
    choice: DecisionInput,
    *,
    lease: timedelta,
    scope: str = "item",
) -> Outcome:
    """Decide one item (``scope="item"``) or its whole cluster (``"cluster"``); see the module docstring.

    Raises :class:`ReviewConflict` when the item is already decided or held by another moderator,
    ``ValueError`` for a bad scope, and ``LookupError`` for an unknown item.
    """
    if scope not in SCOPES:
        raise ValueError(f"The 'scope' field must be one of {', '.join(SCOPES)}; got {scope!r} instead.")
    if scope == "cluster" and choice.action == "escalate":
        raise ValueError(
            "The 'action' field cannot be 'escalate' for a whole cluster; escalate the item alone."
        )
    item = session.execute(
        select(ReviewItem).where(ReviewItem.id == item_id).with_for_update()
    ).scalar_one_or_none()
    if item is None:
        raise LookupError(f"Review item {item_id} does not exist.")
    if item.status not in decidable_statuses(account):
        last = latest_decision(session, item.id)
        name = session.get(Moderator, last.moderator_id).username if last else ""
        who = f" by {name} at {last.created_at:%H:%M:%S} UTC" if last else ""
        raise ReviewConflict(f"Item {item_id} is already {item.status}{who}.")
    held = queue.claim(session, item.id, account.id, lease)
    if not held.ok:
        raise ReviewConflict(
            f"Item {item_id} is claimed by {held.holder} until {held.expires_at:%H:%M:%S} UTC; pick another."
        )
    post = session.get(Post, item.post_id)
    if post is None:  # pragma: no cover - the foreign key makes this impossible
        raise LookupError(f"Post {item.post_id} of review item {item_id} does not exist.")
    outcome = Outcome(batch_id=uuid.uuid4().hex)
    _write(session, item, post, account, choice, batch_id=outcome.batch_id, scope=scope)
    outcome.decided.append(item.id)
    if scope == "cluster":
        key = clusters.cluster_of(session, post)
        if key is not None:
            _decide_cluster(session, key, item, account, choice, outcome, lease)
    queue.release(session, outcome.decided, account.id)
    return outcome


def _decide_cluster(
    session: Session,
    cluster_id: str,
    first: ReviewItem,
    account: Account,
    choice: DecisionInput,
    outcome: Outcome,
    lease: timedelta,
) -> None:
    rows = session.execute(
        select(Post, ReviewItem)
        .outerjoin(ReviewItem, ReviewItem.post_id == Post.post_id)
        .where(Post.post_id.in_(clusters.member_ids(cluster_id)), Post.post_id != first.post_id)
        .order_by(Post.created_at, Post.post_id)
    ).all()
    now = utcnow()
    for post, item in rows:
        if item is None:
            item = ReviewItem(
                post_id=post.post_id,
                priority=review_priority(post.seller, 0, post.cluster_accounts),
                reasons=list(post.reasons or []),
                status=REVIEW_OPEN,
                source="cluster",
                score=post.seller,
                report_count=0,
                cluster_id=post.cluster_id or cluster_id,
                cluster_accounts=post.cluster_accounts,
                created_at=now,
                updated_at=now,
            )
            session.add(item)
            session.flush()
        elif item.status != REVIEW_OPEN:
            outcome.skipped[post.post_id] = f"already {item.status}"
            continue
        held = queue.claim(session, item.id, account.id, lease)
        if not held.ok:
            outcome.skipped[post.post_id] = f"claimed by {held.holder}"
            continue
        _write(session, item, post, account, choice, batch_id=outcome.batch_id, scope="cluster")
        outcome.decided.append(item.id)


def actionable_in_cluster(session: Session, cluster_id: str, moderator_id: int) -> int:
    """How many posts a cluster action by this moderator would decide now (the "confirm all N")."""
    now = utcnow()
    rows = session.execute(
        select(ReviewItem.status, ReviewLease.moderator_id, ReviewLease.expires_at)
        .select_from(Post)
        .outerjoin(ReviewItem, ReviewItem.post_id == Post.post_id)
        .outerjoin(ReviewLease, ReviewLease.review_item_id == ReviewItem.id)
        .where(Post.post_id.in_(clusters.member_ids(cluster_id)))
    ).all()
    count = 0
    for status, holder, expires in rows:
        if status not in (None, REVIEW_OPEN):
            continue
        if holder is not None and holder != moderator_id and expires is not None and expires > now:
            continue
        count += 1
    return count


def actions_in_force(session: Session, post_ids: Sequence[str]) -> dict[str, str]:
    """The moderators' action in force per post (latest decision not undone; escalations ignored).

    The feed filter passes these to ``serve.store.repo.filter_feed``: a moderator's ``hide``,
    ``label_seller`` or ``clear`` overrides the model's action for that post.
    """
    if not post_ids:
        return {}
    rows = session.execute(
        select(Decision.post_id, Decision.action)
        .where(
            Decision.post_id.in_(list(post_ids)), Decision.undone_at.is_(None), Decision.action != "escalate"
        )
        .order_by(Decision.id)
    ).all()
    return {post_id: action for post_id, action in rows}


def latest_decision(session: Session, item_id: int) -> Decision | None:
    """The item's decision in force (not undone), if any."""
    return session.execute(
        select(Decision)
        .where(Decision.review_item_id == item_id, Decision.undone_at.is_(None))
        .order_by(Decision.created_at.desc(), Decision.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def history(session: Session, item_id: int) -> list[Decision]:
    """Every decision ever made on the item, undone ones included, newest first."""
    return list(
        session.execute(
            select(Decision).where(Decision.review_item_id == item_id).order_by(Decision.id.desc())
        ).scalars()
    )


def last_batch(session: Session, moderator_id: int) -> list[Decision]:
    """The moderator's latest batch still in force (what undo would take back)."""
    latest = session.execute(
        select(Decision.batch_id)
        .where(Decision.moderator_id == moderator_id, Decision.undone_at.is_(None))
        .order_by(Decision.created_at.desc(), Decision.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None:
        return []
    return list(
        session.execute(
            select(Decision)
            .where(Decision.batch_id == latest, Decision.undone_at.is_(None))
            .order_by(Decision.id)
        ).scalars()
    )


def undo_last(session: Session, account: Account, *, lease: timedelta) -> Outcome:
    """Take back the moderator's latest batch; the first item is leased back to them to re-decide.

    An item whose status changed since (an admin resolved an escalation) is skipped, not reverted.
    Raises :class:`NothingToUndo` when there is no batch in force.
    """
    batch = last_batch(session, account.id)
    if not batch:
        raise NothingToUndo("Nothing to undo: you have no decision in force.")
    outcome = Outcome(batch_id=batch[0].batch_id)
    now = utcnow()
    for row in batch:
        item = session.execute(
            select(ReviewItem).where(ReviewItem.id == row.review_item_id).with_for_update()
        ).scalar_one()
        if item.status != _status_after(row.action) or latest_decision(session, item.id) is not row:
            outcome.skipped[str(item.id)] = f"changed since (now {item.status})"
            continue
        before = _snapshot(item, row)
        row.undone_at = now
        row.undone_by = account.id
        item.status = row.previous_status
        item.updated_at = now
        session.flush()
        audit(
            session,
            account,
            "undo",
            "review_item",
            str(item.id),
            before=before,
            after=_snapshot(item),
            detail=f"undid decision {row.id} (batch {row.batch_id})",
        )
        outcome.decided.append(item.id)
    if outcome.decided:
        queue.claim(session, outcome.decided[0], account.id, lease)
    return outcome
