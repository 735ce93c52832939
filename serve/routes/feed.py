"""``POST /v1/feed/filter``: which candidate posts to hide for one viewer, and why."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from serve.auth import FeedCaller
from serve.review.decisions import actions_in_force
from serve.routes.deps import ServiceDep
from serve.routes.score import ERRORS
from serve.schemas import FeedFilterRequest, FeedFilterResponse, HiddenPost
from serve.store import repo

router = APIRouter(tags=["feed"])


@router.post("/v1/feed/filter", response_model=FeedFilterResponse, responses=ERRORS)
async def filter_feed(
    body: FeedFilterRequest, service: ServiceDep, _caller: FeedCaller
) -> FeedFilterResponse:
    """Posts are never deleted: this only says what to leave out of this viewer's feed."""
    decision = await run_in_threadpool(
        service.with_store,
        "filter feed",
        lambda session: repo.filter_feed(
            session, body.viewer_id, body.post_ids, actions_in_force(session, body.post_ids)
        ),
        write=False,
    )
    return FeedFilterResponse(
        viewer_id=body.viewer_id,
        hide_seller_posts=decision.hide_seller_posts,
        hide=[
            HiddenPost(post_id=h.post_id, action=h.action, labels=h.labels, reason=h.reason)
            for h in decision.hide
        ],
        unknown=decision.unknown,
    )
