"""Prometheus metrics for the service (``/metrics``).

Why a registry per app instead of the global default: tests and the benchmark build several
apps in one process, and each must count only its own traffic. What is measured is what the
feed team and on-call ask first: request rate and latency per route, how well micro-batching
works (posts per model run, queue depth, rejections), what the scorer decides (actions per label),
and whether the store keeps up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from model.labels import LABELS

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 256, 512)


class ServiceMetrics:
    """All of the service's metrics, on their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "feedguard_http_requests", "HTTP requests served.", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "feedguard_http_request_seconds",
            "HTTP request latency.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_posts = Histogram(
            "feedguard_model_batch_posts",
            "Posts per model run (micro-batch size).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.batch_requests = Histogram(
            "feedguard_model_batch_requests",
            "Requests merged into one model run.",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.batch_seconds = Histogram(
            "feedguard_model_batch_seconds", "Time of one model run.", buckets=LATENCY_BUCKETS, registry=r
        )
        self.queue_posts = Gauge("feedguard_batch_queue_posts", "Posts waiting for a model run.", registry=r)
        self.rejected = Counter(
            "feedguard_batch_rejected",
            "Score requests refused with 503 because the queue was full.",
            registry=r,
        )
        self.posts_scored = Counter(
            "feedguard_posts_scored", "Posts scored, by action.", ["action"], registry=r
        )
        self.label_actions = Counter(
            "feedguard_label_actions",
            "Scored posts per label over its threshold and the action taken ('none' = no label).",
            ["label", "action"],
            registry=r,
        )
        self.cache_hits = Counter(
            "feedguard_score_cache_hits", "Posts answered from the idempotency cache.", registry=r
        )
        self.store_errors = Counter(
            "feedguard_store_errors", "Store operations that failed.", ["operation"], registry=r
        )
        self.store_up = Gauge("feedguard_store_up", "1 if the last store operation succeeded.", registry=r)
        self.model_loaded = Gauge("feedguard_model_loaded", "1 once the model bundle is loaded.", registry=r)
        for label in (*LABELS, "none"):
            for action in ("allow", "label", "review", "hide"):
                self.label_actions.labels(label=label, action=action)

    def observe_results(self, results: Sequence[Any]) -> None:
        """Count actions and labels of freshly returned score results."""
        for result in results:
            self.posts_scored.labels(action=result.action).inc()
            for label in result.labels or ["none"]:
                self.label_actions.labels(label=label, action=result.action).inc()
            if getattr(result, "cached", False):
                self.cache_hits.inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
