"""The FastAPI app factory: settings in, a running service out.

The lifespan does the expensive work exactly once per process: it loads the release bundle
and the saved duplicate indexes and account history (``Scorer.from_release``), migrates the
store, starts the micro-batcher, and saves the scorer's state periodically and at shutdown.
Handlers get these parts through :data:`serve.routes.deps.ServiceDep`.

Two pure-ASGI middlewares sit in front of every route: :class:`BodyGuard` refuses bodies that
are too large (413), not JSON (415) or not UTF-8 (400) before anything parses them, and
:class:`RequestMetrics` times every request for Prometheus by route template.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from model.scorer import Scorer, ScorerInputError
from serve.auth import KeyRing, ensure_local_key
from serve.batcher import MicroBatcher
from serve.errors import error_body, install_error_handlers
from serve.metrics import ServiceMetrics
from serve.review.routes import install as install_review
from serve.routes import ROUTERS
from serve.routes.deps import Service
from serve.settings import Settings, get_settings
from serve.store.db import Store

log = logging.getLogger("feedguard.serve")

ScorerFactory = Callable[[Settings], Scorer]


def default_scorer(settings: Settings) -> Scorer:
    """The committed release (or ``settings.release_dir``) with state under ``$FEEDGUARD_HOME``."""
    return Scorer.from_release(
        settings.release_dir,
        state_dir=settings.state_dir,
        intra_op_threads=settings.intra_op_threads,
        cache_size=settings.cache_size,
        history_max_authors=settings.history_max_authors,
    )


def create_app(settings: Settings | None = None, *, scorer_factory: ScorerFactory | None = None) -> FastAPI:
    """Build the app. ``scorer_factory`` lets tests and the benchmark load a different bundle."""
    settings = settings or get_settings()
    factory = scorer_factory or default_scorer
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.home.mkdir(parents=True, exist_ok=True)
        local_key = ensure_local_key(settings.local_key_path) if settings.local_key else None
        app.state.keyring = KeyRing.from_settings(settings, local_key)
        store = Store(settings.sqlalchemy_url)
        scorer = await run_in_threadpool(factory, settings)
        metrics.model_loaded.set(1)
        batcher = MicroBatcher(
            scorer.score,
            max_wait_s=settings.batch_wait_ms / 1000.0,
            max_batch_posts=settings.max_batch_posts,
            max_queue_posts=settings.max_queue_posts,
            retry_after_s=settings.retry_after_s,
            metrics=metrics,
            retry_alone=ScorerInputError,
        )
        service = Service(settings=settings, scorer=scorer, store=store, batcher=batcher, metrics=metrics)
        await run_in_threadpool(service.try_migrate)
        await batcher.start()
        app.state.service = service
        saver = asyncio.create_task(_save_periodically(service), name="feedguard-state-saver")
        try:
            yield
        finally:
            saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saver
            await batcher.stop()
            await run_in_threadpool(_save_state, service)
            store.dispose()
            app.state.service = None

    app = FastAPI(
        title="FeedGuard",
        version="0.1.0",
        summary="Scores friend-feed posts for micro-business (微商) spam.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.service = None
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    # The moderators' pages under /review (issue 6): their HTML forms post urlencoded bodies.
    install_review(app, settings)
    # Last added runs first: metrics see every request, including those the guard refuses.
    app.add_middleware(BodyGuard, max_body_bytes=settings.max_body_bytes, form_prefixes=("/review/",))
    app.add_middleware(RequestMetrics, metrics=metrics)
    return app


def _save_state(service: Service) -> None:
    try:
        service.scorer.save_state(service.settings.state_dir)
    except OSError as err:
        log.error("could not save the scorer's state under %s: %s", service.settings.state_dir, err)


async def _save_periodically(service: Service) -> None:
    while True:
        await asyncio.sleep(service.settings.state_save_interval_s)
        await run_in_threadpool(_save_state, service)


# ---------------------------------------------------------------------- middleware
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


async def _send_error(send: Send, status: int, code: str, message: str, field: str = "body") -> None:
    body = json.dumps(error_body(code, message, field)).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyGuard:
    """Refuse oversized, non-JSON and non-UTF-8 bodies before they are parsed.

    The body is read (counting bytes, so a missing or lying ``Content-Length`` cannot get past
    the limit), checked, then replayed to the app. Under ``form_prefixes`` (the review pages)
    HTML forms' ``application/x-www-form-urlencoded`` bodies are accepted as well.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, form_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.form_prefixes = form_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        is_form = content_type == "application/x-www-form-urlencoded" and scope["path"].startswith(
            self.form_prefixes
        )
        if content_type != "application/json" and not is_form:
            await _send_error(
                send,
                415,
                "unsupported_media_type",
                f"content-type: must be application/json; got {content_type or 'none'!r}",
                "content-type",
            )
            return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _send_error(
                send, 413, "payload_too_large", f"body: {declared} bytes; the limit is {self.max_body_bytes}"
            )
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _send_error(
                    send, 413, "payload_too_large", f"body: over {self.max_body_bytes} bytes (the limit)"
                )
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as err:
            await _send_error(
                send, 400, "malformed_body", f"body: not valid UTF-8 (invalid byte at offset {err.start})"
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class RequestMetrics:
    """Count and time every request by method, route template and status."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)  # type: ignore[arg-type]

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method=method, route=path, status=str(status["code"])).inc()
            self.metrics.latency.labels(method=method, route=path).observe(time.perf_counter() - started)
