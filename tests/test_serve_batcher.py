"""Micro-batching: concurrent submissions share model runs, the queue is bounded, errors stay with their caller."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import pytest

from serve.batcher import MicroBatcher
from serve.errors import NotReady, Overloaded
from serve.metrics import ServiceMetrics


@dataclass(frozen=True)
class Item:
    post_id: str
    bad: bool = False


class Recorder:
    """A run function that records each batch; optionally blocks until released."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[str]] = []
        self.gate = gate

    def __call__(self, items: list[Item]) -> list[str]:
        if self.gate is not None:
            self.gate.wait(timeout=10)
        if any(i.bad for i in items):
            raise ValueError("bad item " + ",".join(i.post_id for i in items if i.bad))
        self.batches.append([i.post_id for i in items])
        return [f"scored:{i.post_id}" for i in items]


def _run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_are_merged_and_results_go_back_in_order() -> None:
    recorder = Recorder()
    metrics = ServiceMetrics()

    async def main() -> list[list[str]]:
        batcher = MicroBatcher(
            recorder, max_wait_s=0.05, max_batch_posts=64, max_queue_posts=1000, metrics=metrics
        )
        await batcher.start()
        try:
            jobs = [batcher.submit([Item(f"r{r}-{k}") for k in range(3)]) for r in range(8)]
            return await asyncio.gather(*jobs)
        finally:
            await batcher.stop()

    results = _run(main())
    for r, part in enumerate(results):
        assert part == [f"scored:r{r}-{k}" for k in range(3)]
    # 8 requests of 3 posts arrived together: far fewer model runs than requests.
    assert len(recorder.batches) < 8
    assert sum(len(b) for b in recorder.batches) == 24
    assert max(len(b) for b in recorder.batches) > 3
    exposition = metrics.render()[0].decode()
    assert "feedguard_model_batch_posts_count" in exposition


def test_batches_respect_the_post_limit_and_never_mix_duplicate_ids() -> None:
    recorder = Recorder()

    async def main() -> None:
        batcher = MicroBatcher(recorder, max_wait_s=0.05, max_batch_posts=5, max_queue_posts=1000)
        await batcher.start()
        try:
            await asyncio.gather(
                batcher.submit([Item("a"), Item("b")]),
                batcher.submit([Item("a")]),  # same id as the first: must go to another run
                batcher.submit([Item("c"), Item("d"), Item("e")]),
                batcher.submit([Item("f")]),
            )
        finally:
            await batcher.stop()

    _run(main())
    for batch in recorder.batches:
        assert len(batch) <= 5
        assert len(batch) == len(set(batch))
    assert sorted(p for b in recorder.batches for p in b) == sorted("abacdef")


def test_a_full_queue_refuses_with_overloaded_and_retry_after() -> None:
    gate = threading.Event()
    recorder = Recorder(gate)
    metrics = ServiceMetrics()

    async def main() -> None:
        batcher = MicroBatcher(
            recorder, max_wait_s=0.0, max_batch_posts=4, max_queue_posts=6, retry_after_s=2, metrics=metrics
        )
        await batcher.start()
        try:
            first = asyncio.create_task(batcher.submit([Item("x1"), Item("x2"), Item("x3"), Item("x4")]))
            await asyncio.sleep(0.05)  # the worker took the first batch and is blocked in the model
            queued = [asyncio.create_task(batcher.submit([Item(f"q{i}"), Item(f"q{i}b")])) for i in range(3)]
            await asyncio.sleep(0.05)
            assert batcher.queue_posts == 6
            with pytest.raises(Overloaded) as info:
                await batcher.submit([Item("late")])
            assert info.value.headers["Retry-After"] == "2"
            assert info.value.status_code == 503
            gate.set()
            await asyncio.gather(first, *queued)
            assert batcher.queue_posts == 0
        finally:
            gate.set()
            await batcher.stop()

    _run(main())
    assert "feedguard_batch_rejected_total 1.0" in metrics.render()[0].decode()


def test_bad_input_in_a_merged_run_fails_only_its_own_request() -> None:
    recorder = Recorder()

    async def main() -> list[object]:
        batcher = MicroBatcher(recorder, max_wait_s=0.05, max_batch_posts=64, max_queue_posts=100)
        await batcher.start()
        try:
            return await asyncio.gather(
                batcher.submit([Item("ok1")]),
                batcher.submit([Item("boom", bad=True)]),
                batcher.submit([Item("ok2")]),
                return_exceptions=True,
            )
        finally:
            await batcher.stop()

    ok1, boom, ok2 = _run(main())
    assert ok1 == ["scored:ok1"] and ok2 == ["scored:ok2"]
    assert isinstance(boom, ValueError) and "boom" in str(boom)


def test_submit_before_start_or_after_stop_is_not_ready() -> None:
    async def main() -> None:
        batcher = MicroBatcher(Recorder(), max_wait_s=0.0, max_batch_posts=4, max_queue_posts=10)
        with pytest.raises(NotReady):
            await batcher.submit([Item("a")])
        await batcher.start()
        assert await batcher.submit([Item("a")]) == ["scored:a"]
        await batcher.stop()
        with pytest.raises(NotReady):
            await batcher.submit([Item("b")])

    _run(main())


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_batch_posts"):
        MicroBatcher(Recorder(), max_wait_s=0.0, max_batch_posts=0, max_queue_posts=10)
