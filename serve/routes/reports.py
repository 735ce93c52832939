"""``POST /v1/reports``: a user reports a post; reports raise its review priority."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from serve.auth import FeedCaller
from serve.errors import NotFound
from serve.routes.deps import ServiceDep
from serve.routes.score import ERRORS
from serve.schemas import ReportIn, ReportOut, ReviewState
from serve.store import repo

router = APIRouter(tags=["reports"])


@router.post(
    "/v1/reports",
    response_model=ReportOut,
    status_code=201,
    responses={**ERRORS, 200: {"model": ReportOut}, 404: ERRORS[422]},
)
async def report(body: ReportIn, response: Response, service: ServiceDep, _caller: FeedCaller) -> ReportOut:
    """Record the report (201), or acknowledge a repeat by the same reporter (200, counted once).

    Reports come from the feed app on a user's behalf, so they need the ``feed`` scope.
    """

    def write(session: Session) -> ReportOut:
        post = repo.get_post(session, body.post_id)
        if post is None:
            raise NotFound(
                f"post_id: post {body.post_id!r} has not been scored; score it first.", field="post_id"
            )
        outcome = repo.add_report(session, post, body.reporter_id, body.reason, body.note)
        return ReportOut(
            report_id=outcome.report_id,
            post_id=body.post_id,
            duplicate=outcome.duplicate,
            review=ReviewState(
                status=outcome.item.status,
                priority=outcome.item.priority,
                report_count=outcome.item.report_count,
            ),
        )

    out = await run_in_threadpool(service.with_store, "add report", write)
    if out.duplicate:
        response.status_code = 200
    return out
