"""``/healthz`` (the process is up), ``/readyz`` (model loaded, store reachable), ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import SQLAlchemyError

from serve.routes.deps import Service, ServiceDep
from serve.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: answers as long as the event loop runs."""
    return Health(status="ok")


def _check_store(service: Service) -> dict[str, object]:
    try:
        service.store.ping()
    except SQLAlchemyError as err:
        service.mark_store(False, err, "ping")
        return {"ok": False, "error": type(err).__name__, "backend": service.store.engine.dialect.name}
    migrated = service.try_migrate()
    if migrated:
        service.mark_store(True)
    return {
        "ok": migrated,
        "backend": service.store.engine.dialect.name,
        "error": None if migrated else service.store_health.error,
    }


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(service: ServiceDep, response: Response) -> Readiness:
    """Ready when the model is loaded and the batch worker runs.

    A store outage does not take the service out of rotation: scoring keeps working without it,
    so readiness answers 200 with ``status: degraded`` and the store's error.
    """
    store = await run_in_threadpool(_check_store, service)
    model_ok = service.scorer is not None
    batcher_ok = service.batcher.running
    status = "ready" if model_ok and batcher_ok and store["ok"] else "degraded"
    if not (model_ok and batcher_ok):
        status = "not_ready"
        response.status_code = 503
    return Readiness(
        status=status,
        model={"ok": model_ok, "version": service.scorer.model_version, **service.scorer.stats()},
        store=store,
        batcher={"ok": batcher_ok, "queue_posts": service.batcher.queue_posts, "runs": service.batcher.runs},
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(service: ServiceDep) -> Response:
    """Prometheus exposition."""
    body, content_type = service.metrics.render()
    return Response(content=body, media_type=content_type)
