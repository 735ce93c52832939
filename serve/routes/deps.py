"""The running service's parts, and typed dependencies that hand them to handlers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from model.scorer import Scorer
from serve.batcher import MicroBatcher
from serve.errors import NotReady
from serve.metrics import ServiceMetrics
from serve.settings import Settings
from serve.store.db import Store

log = logging.getLogger("feedguard.serve")
T = TypeVar("T")


@dataclass
class StoreHealth:
    """What the service last learned about its store (readiness reports it)."""

    ok: bool = False
    error: str | None = None
    migrated: bool = False
    checked_at: float = field(default=0.0)
    #: After a failure, requests skip the store until this monotonic time (a circuit breaker), so a
    #: database that hangs on connect cannot make every score request wait for its timeout.
    retry_at: float = field(default=0.0)


@dataclass
class Service:
    """Everything a handler may need, built once by the app's lifespan."""

    settings: Settings
    scorer: Scorer
    store: Store
    batcher: MicroBatcher
    metrics: ServiceMetrics
    store_health: StoreHealth = field(default_factory=StoreHealth)

    def with_store(self, operation: str, fn: Callable[[Session], T], *, write: bool = True) -> T:
        """Run ``fn`` in a store transaction; a store outage becomes :class:`NotReady` (503).

        Called from a worker thread (``run_in_threadpool``): database drivers block.
        """
        if not self.store_health.ok and time.monotonic() < self.store_health.retry_at:
            raise NotReady(
                f"The store is unavailable ({self.store_health.error}); {operation} needs it.",
                retry_after_s=max(1, round(self.store_health.retry_at - time.monotonic())),
            )
        if not self.store_health.migrated and not self.try_migrate():
            raise NotReady(f"The store is unavailable ({self.store_health.error}); {operation} needs it.")
        try:
            with self.store.write() if write else self.store.session() as session:
                value = fn(session)
        except SQLAlchemyError as err:
            self.mark_store(False, err, operation)
            raise NotReady(f"The store is unavailable ({type(err).__name__}); {operation} needs it.") from err
        self.mark_store(True)
        return value

    def mark_store(self, ok: bool, err: BaseException | None = None, operation: str = "") -> None:
        self.store_health.ok = ok
        self.store_health.checked_at = time.monotonic()
        self.metrics.store_up.set(1 if ok else 0)
        if ok:
            self.store_health.error = None
            return
        self.store_health.error = type(err).__name__ if err is not None else "unknown"
        self.store_health.retry_at = self.store_health.checked_at + self.settings.store_retry_s
        self.metrics.store_errors.labels(operation=operation or "unknown").inc()
        # The exception text may carry the URL; log the type and our own words only.
        log.warning("store operation %r failed: %s", operation, self.store_health.error)

    def try_migrate(self) -> bool:
        """Run migrations if they have not succeeded yet (the store may come up after the service)."""
        if self.store_health.migrated:
            return True
        try:
            self.store.migrate()
        except SQLAlchemyError as err:
            self.mark_store(False, err, "migrate")
            return False
        self.store_health.migrated = True
        self.mark_store(True)
        return True


def get_service(request: Request) -> Service:
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None:
        raise NotReady("The service is starting.")
    return service


ServiceDep = Annotated[Service, Depends(get_service)]
