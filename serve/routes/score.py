"""``POST /v1/score``: a batch of posts in, scores, action and reasons out."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from model.scorer import PostInput, ScoreResult, ScorerInputError
from serve.auth import ScoreCaller
from serve.errors import BadInput, NotReady
from serve.review import intake
from serve.routes.deps import Service, ServiceDep
from serve.schemas import ErrorOut, ScoreOut, ScoreRequest, ScoreResponse
from serve.store import repo

router = APIRouter(tags=["score"])

ERRORS = {
    400: {"model": ErrorOut},
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    413: {"model": ErrorOut},
    415: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut},
}


def _to_inputs(service: Service, body: ScoreRequest) -> list[PostInput]:
    """Decode and hash images per request, so one bad image fails only its own request."""
    posts: list[PostInput] = []
    for i, item in enumerate(body.posts):
        try:
            images = item.decoded_images()
        except ValueError as err:
            raise BadInput(f"posts[{i}].{err}", field=f"posts[{i}].{str(err).split(':', 1)[0]}") from err
        posts.append(
            PostInput(
                post_id=item.post_id,
                text=item.text,
                author_id=item.author_id,
                created_at=item.created_at,
                image_bytes=tuple(images),
                image_hashes=tuple(item.image_hashes),
            )
        )
    try:
        return service.scorer.prepare(posts)
    except ScorerInputError as err:
        raise BadInput(str(err), field=f"posts[{err.index}].{err.field}") from err


def _store(service: Service, posts: list[PostInput], results: list[ScoreResult]) -> bool:
    """Record the scores and queue flagged posts; False (not an error) when the store is down."""
    pairs = list(zip(posts, results, strict=True))

    def save(session: Session) -> None:
        repo.save_scored(session, pairs, service.scorer.model_version)
        intake.record_clusters(session, pairs)  # the review page's near-duplicate clusters

    try:
        service.with_store("store scores", save)
    except NotReady:
        # Scoring must not depend on the store: the feed keeps getting answers, readiness says "degraded".
        return False
    return True


@router.post("/v1/score", response_model=ScoreResponse, responses=ERRORS)
async def score(
    body: ScoreRequest, service: ServiceDep, _caller: ScoreCaller, background: BackgroundTasks
) -> ScoreResponse:
    """Score a batch of posts. Concurrent requests share one model run (micro-batching)."""
    posts = await run_in_threadpool(_to_inputs, service, body)
    results: list[ScoreResult] = await service.batcher.submit(posts)
    service.metrics.observe_results(results)
    stored = await run_in_threadpool(_store, service, posts, results)
    review = service.settings.review
    if stored and review.store_thumbnails and any(item.images for item in body.posts):
        # Thumbnails for the review page, made after the response has gone out (off the feed's clock).
        fresh = {r.post_id for r in results if not r.cached}
        with_images = [(item, p) for item, p in zip(body.posts, posts, strict=True) if item.images]

        def thumbnails() -> None:
            entries = [(p.post_id, item.decoded_images(), p.image_hashes) for item, p in with_images]
            intake.save_thumbnails(
                service.store,
                [e for e in entries if e[0] in fresh],
                side=review.thumbnail_side,
                quality=review.thumbnail_quality,
            )

        background.add_task(thumbnails)
    return ScoreResponse(
        results=[ScoreOut(**r.to_dict(), cached=r.cached) for r in results],
        model_version=service.scorer.model_version,
        stored=stored,
    )
