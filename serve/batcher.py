"""Micro-batching: concurrent ``/v1/score`` requests share one model run.

Why: the encoder costs far less per post in a batch of 32 than one at a time (ANCHORS.md), and
the feed pipeline sends many small requests at once. Requests wait in a bounded queue; one
worker takes the first, then gathers what else is queued, waiting at most ``max_wait_s`` (a few
ms) for more, up to ``max_batch_posts``, and runs the model once in a dedicated thread (the
event loop keeps accepting requests meanwhile). When the queue already holds
``max_queue_posts`` posts, new requests are refused at once with :class:`~serve.errors.Overloaded`
(503 + ``Retry-After``): shedding load early keeps latency bounded for the requests accepted.

Two requests carrying the same ``post_id`` never share a run (the Scorer refuses duplicate ids
in one batch); the later waits for the next run, where it hits the idempotency cache. If a merged
run fails on bad input, each request is re-run alone so only the guilty caller sees the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from serve.errors import NotReady, Overloaded
from serve.metrics import ServiceMetrics

RunFn = Callable[[list[Any]], list[Any]]


@dataclass
class _Job:
    posts: list[Any]
    future: asyncio.Future[list[Any]]
    ids: frozenset[str] = field(default_factory=frozenset)


class MicroBatcher:
    """Collects score requests into model runs (module docstring)."""

    def __init__(
        self,
        run: RunFn,
        *,
        max_wait_s: float,
        max_batch_posts: int,
        max_queue_posts: int,
        retry_after_s: int = 1,
        metrics: ServiceMetrics | None = None,
        retry_alone: type[BaseException] | tuple[type[BaseException], ...] = ValueError,
    ) -> None:
        if max_wait_s < 0 or max_batch_posts < 1 or max_queue_posts < 1:
            raise ValueError(
                "The 'max_wait_s', 'max_batch_posts' and 'max_queue_posts' parameters of MicroBatcher must be"
                f" >= 0, >= 1, >= 1; got {max_wait_s!r}, {max_batch_posts!r}, {max_queue_posts!r} instead."
            )
        self._run = run
        self.max_wait_s = max_wait_s
        self.max_batch_posts = max_batch_posts
        self.max_queue_posts = max_queue_posts
        self.retry_after_s = retry_after_s
        self._metrics = metrics
        self._retry_alone = retry_alone
        self._queue: asyncio.Queue[_Job] | None = None
        self._pending_posts = 0
        self._carry: _Job | None = None
        self._inflight: list[_Job] = []
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.runs = 0

    @property
    def queue_posts(self) -> int:
        """Posts accepted and not yet handed to the model."""
        return self._pending_posts

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedguard-model")
        self._task = asyncio.create_task(self._worker(), name="feedguard-batcher")

    async def stop(self) -> None:
        """Stop the worker; requests still queued get :class:`NotReady`."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        leftovers: list[_Job] = [*self._inflight, *([self._carry] if self._carry is not None else [])]
        self._carry = None
        self._inflight = []
        while self._queue is not None and not self._queue.empty():
            leftovers.append(self._queue.get_nowait())
        for job in leftovers:
            _settle(job, error=NotReady("The service is shutting down."))
        self._pending_posts = 0
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._task = None

    async def submit(self, posts: Sequence[Any]) -> list[Any]:
        """Queue ``posts`` for the next model run and wait for their results (same order)."""
        if self._queue is None or not self.running:
            raise NotReady("The scoring worker is not running.")
        if self._pending_posts + len(posts) > self.max_queue_posts:
            if self._metrics is not None:
                self._metrics.rejected.inc()
            raise Overloaded(
                f"The scoring queue is full ({self._pending_posts} posts waiting); retry after"
                f" {self.retry_after_s} s.",
                retry_after_s=self.retry_after_s,
            )
        job = _Job(
            posts=list(posts),
            future=asyncio.get_running_loop().create_future(),
            ids=frozenset(p.post_id for p in posts),
        )
        self._pending_posts += len(job.posts)
        self._gauge()
        self._queue.put_nowait(job)
        return await job.future

    # ------------------------------------------------------------------ worker
    async def _worker(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            if self._carry is not None:
                first, self._carry = self._carry, None
            else:
                first = await self._queue.get()
            taken = [first]
            n_posts = len(first.posts)
            ids = set(first.ids)
            deadline = loop.time() + self.max_wait_s
            while n_posts < self.max_batch_posts:
                if self._queue.empty():
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        job = await asyncio.wait_for(self._queue.get(), timeout=remaining)
                    except TimeoutError:
                        break
                else:
                    job = self._queue.get_nowait()
                if n_posts + len(job.posts) > self.max_batch_posts or ids & job.ids:
                    self._carry = job  # still counted as pending; it leads the next run
                    break
                taken.append(job)
                n_posts += len(job.posts)
                ids |= job.ids
            self._pending_posts -= sum(len(job.posts) for job in taken)
            self._gauge()
            # A caller that gave up (client disconnected) no longer needs its posts scored.
            batch = [job for job in taken if not job.future.done()]
            if batch:
                self._inflight = batch
                await self._run_batch(loop, batch)
                self._inflight = []

    async def _run_batch(self, loop: asyncio.AbstractEventLoop, batch: list[_Job]) -> None:
        posts = [p for job in batch for p in job.posts]
        started = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._executor, self._run, posts)
        except self._retry_alone as err:
            if len(batch) == 1:
                _settle(batch[0], error=err)
                return
            for job in batch:
                await self._run_alone(loop, job)
            return
        except Exception as err:
            # Not swallowed: every caller in the run gets the error (and the app logs it as a 500).
            for job in batch:
                _settle(job, error=err)
            return
        self.runs += 1
        if self._metrics is not None:
            self._metrics.batch_seconds.observe(time.perf_counter() - started)
            self._metrics.batch_posts.observe(len(posts))
            self._metrics.batch_requests.observe(len(batch))
        offset = 0
        for job in batch:
            _settle(job, result=results[offset : offset + len(job.posts)])
            offset += len(job.posts)

    async def _run_alone(self, loop: asyncio.AbstractEventLoop, job: _Job) -> None:
        try:
            results = await loop.run_in_executor(self._executor, self._run, job.posts)
        except Exception as err:
            _settle(job, error=err)
            return
        self.runs += 1
        _settle(job, result=results)

    def _gauge(self) -> None:
        if self._metrics is not None:
            self._metrics.queue_posts.set(self._pending_posts)


def _settle(job: _Job, *, result: list[Any] | None = None, error: BaseException | None = None) -> None:
    """Hand a run's outcome to a waiting caller (unless it already gave up)."""
    if job.future.done():
        return
    if error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(result if result is not None else [])
