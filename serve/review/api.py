"""``/review/api``: the review queue as JSON, for scripts and tests (same sessions, same CSRF rule).

Log in through ``/review/login`` first; ``GET /review/api/me`` hands out the CSRF token that
POSTs carry in ``X-CSRF-Token``. A decision answers ``201`` only after its transaction committed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from serve.review import decisions, queue, views
from serve.review.decisions import DecisionInput, NothingToUndo, ReviewConflict
from serve.review.web import (
    Me,
    ReviewError,
    check_api_csrf,
    db,
    open_item,
    parse_filters,
    state_of,
    stats_data,
    thresholds_of,
)
from serve.routes.deps import ServiceDep

router = APIRouter(prefix="/review", include_in_schema=False)


class DecisionBody(BaseModel):
    """A decision over the API: a verdict per label, the action, a note, and the scope."""

    model_config = ConfigDict(extra="forbid")
    verdicts: dict[str, str]
    action: str
    note: str | None = Field(default=None, max_length=decisions.MAX_NOTE_CHARS)
    scope: str = "item"


def _item_json(v: views.ItemView) -> dict[str, Any]:
    post = v.post
    return {
        "item_id": v.item.id,
        "status": v.item.status,
        "priority": v.item.priority,
        "source": v.item.source,
        "report_count": v.item.report_count,
        "claim": None
        if v.claim is None
        else {
            "ok": v.claim.ok,
            "holder": v.claim.holder,
            "expires_at": v.claim.expires_at.isoformat() if v.claim.expires_at else None,
        },
        "post": {
            "post_id": post.post_id,
            "author_id": post.author_id,
            "created_at": post.created_at.isoformat() if post.created_at else None,
            "text": post.text,
            "normalized_text": post.normalized_text,
            "labels": list(post.labels or []),
            "action": post.action,
            "tricks": list(post.tricks or []),
            "images": [
                {"position": i.position, "url": f"/review/images/{post.post_id}/{i.position}"}
                for i in v.images
            ],
            "image_hashes": list(post.image_hashes or []),
        },
        "evasions": [
            {
                "trick": u.trick,
                "original": u.original,
                "replacement": u.replacement,
                "marked": u not in v.unplaced,
            }
            for u in v.normalized.undone
        ],
        "scores": [
            {"label": s.label, "score": s.score, "flagged": s.flagged, "thresholds": s.thresholds}
            for s in v.scores
        ],
        "reasons": list(v.item.reasons or []),
        "cluster": None
        if v.cluster is None
        else {
            "cluster_id": v.cluster.cluster_id,
            "posts": v.cluster.posts,
            "accounts": v.cluster.accounts,
            "actionable": v.cluster.actionable,
        },
        "decision": None
        if v.decision is None
        else {
            "batch_id": v.decision.batch_id,
            "verdicts": v.decision.verdicts,
            "action": v.decision.action,
            "note": v.decision.note,
            "by": v.decided_by,
            "at": v.decision.created_at.isoformat(),
        },
        "default_verdicts": v.default_verdicts,
        "suggested_action": v.suggested_action,
    }


@router.get("/api/me")
async def api_me(request: Request, login: Me) -> dict[str, Any]:
    return {
        "username": login.account.username,
        "role": login.account.role,
        "csrf_token": state_of(request).sessions.csrf_token(login),
        "expires_at": login.expires_at.isoformat(),
    }


@router.get("/api/queue")
async def api_queue(
    request: Request,
    service: ServiceDep,
    login: Me,
    view: str | None = None,
    label: str | None = None,
    reason: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    filters = parse_filters(view, label, reason)

    def read(session: Session) -> dict[str, Any]:
        counters = queue.counters(session, login.account.id, filters)
        rows = queue.list_items(session, login.account.id, filters, limit=limit)
        return {
            "counters": counters.__dict__,
            "items": [
                {
                    "item_id": r.item.id,
                    "post_id": r.post.post_id,
                    "priority": r.item.priority,
                    "score": r.item.score,
                    "labels": list(r.post.labels or []),
                    "status": r.item.status,
                    "cluster_accounts": r.item.cluster_accounts,
                    "report_count": r.item.report_count,
                    "leased_by": r.leased_by,
                }
                for r in rows
            ],
        }

    return await db(service, "review queue", read, write=False)


@router.get("/api/items/{item_id}")
async def api_item(request: Request, service: ServiceDep, login: Me, item_id: int) -> dict[str, Any]:
    state = state_of(request)
    thresholds = thresholds_of(service)
    return await db(
        service, "review item", lambda s: _item_json(open_item(s, item_id, login, state, thresholds))
    )


@router.post("/api/items/{item_id}/decision", status_code=201)
async def api_decide(
    request: Request, service: ServiceDep, login: Me, item_id: int, body: DecisionBody
) -> dict[str, Any]:
    check_api_csrf(request, login)
    try:
        choice = DecisionInput(body.verdicts, body.action, body.note)
    except ValueError as err:
        raise ReviewError(422, "bad_input", str(err)) from err
    lease = state_of(request).lease

    def write(session: Session) -> decisions.Outcome:
        try:
            return decisions.decide(session, item_id, login.account, choice, lease=lease, scope=body.scope)
        except ReviewConflict as err:
            raise ReviewError(409, "conflict", str(err)) from err
        except LookupError as err:
            raise ReviewError(404, "not_found", str(err)) from err
        except ValueError as err:
            raise ReviewError(422, "bad_input", str(err)) from err

    outcome = await db(service, "review decision", write)
    return {
        "saved": True,
        "batch_id": outcome.batch_id,
        "decided": outcome.decided,
        "skipped": outcome.skipped,
    }


@router.post("/api/undo")
async def api_undo(request: Request, service: ServiceDep, login: Me) -> dict[str, Any]:
    check_api_csrf(request, login)
    lease = state_of(request).lease

    def write(session: Session) -> decisions.Outcome:
        try:
            return decisions.undo_last(session, login.account, lease=lease)
        except NothingToUndo as err:
            raise ReviewError(409, "nothing_to_undo", str(err)) from err

    outcome = await db(service, "review undo", write)
    return {"batch_id": outcome.batch_id, "undone": outcome.decided, "skipped": outcome.skipped}


@router.get("/api/stats")
async def api_stats(request: Request, service: ServiceDep, login: Me) -> dict[str, Any]:
    config = state_of(request).config
    data = await db(service, "review stats", lambda s: stats_data(s, config), write=False)
    return {
        "decisions_per_day": [
            {"day": d.day.isoformat(), "total": d.total, "by_action": d.by_action} for d in data["days"]
        ],
        "agreement": [
            {
                "label": a.label,
                "decided": a.decided,
                "both": a.both,
                "model_only": a.model_only,
                "moderator_only": a.moderator_only,
                "neither": a.neither,
                "agreement": a.agreement,
                "precision": a.precision,
                "recall": a.recall,
            }
            for a in data["agreement"]
        ],
        "active_clusters": [
            {
                "cluster_id": c.cluster_id,
                "posts": c.posts,
                "accounts": c.accounts,
                "open_items": c.open_items,
                "last_seen": c.last_seen.isoformat() if c.last_seen else None,
            }
            for c in data["clusters"]
        ],
    }
