"""Helpers for the scorer and service tests: a policy file, and a classifier with known scores.

The fusion rules (duplicates across accounts, seller-account history) and the service's
plumbing are tested with :class:`KeywordClassifier`, whose scores a test can predict, so a
test can say "this post is over the label threshold" and check what fusion does with it. The
real release model is exercised by the tests that load ``model/release`` (see test_scorer.py and
test_serve_e2e.py).
"""

from __future__ import annotations

import base64
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from model.labels import LABELS
from model.normalize import PostText, normalized
from model.policy import LabelCalibration, Policy

#: Rules the Scorer reads from the policy file (values chosen for tests, not tuned).
TEST_RULES: dict[str, Any] = {
    "duplicate_accounts_review": 3,
    "history_window": 10,
    "history_min_posts": 3,
    "history_seller_ratio": 0.6,
    "history_bump": 0.15,
}

TEST_THRESHOLDS = {
    "label": {"hard_sell": 0.8, "recruitment": 0.8, "fake_proof": 0.8},
    "review": {"recruitment": 0.9, "fake_proof": 0.9},
    "hide": {"recruitment": 0.95, "fake_proof": 0.95},
}

#: Words that drive each label's score in :class:`KeywordClassifier`.
KEYWORDS = {
    "hard_sell": ("私聊", "下单", "微信", "包邮", "优惠"),
    "recruitment": ("代理", "招募", "月入", "宝妈"),
    "fake_proof": ("反馈", "收款", "发货", "好评"),
}
#: Score of a label with 0, 1, 2, 3 or more of its keywords: under every threshold, under ``label``,
#: over ``label`` only, over ``hide``.
LEVELS = (0.05, 0.7, 0.85, 0.96)


class KeywordClassifier:
    """A text "model" with predictable scores: the count of a label's keywords picks a level.

    Like the real models it takes raw or normalized posts and reads the normalized text.
    """

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict_proba(self, texts: Sequence[PostText]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), len(LABELS)))
        for i, text in enumerate(normalized(t).text for t in texts):
            for j, label in enumerate(LABELS):
                hits = sum(word in text for word in KEYWORDS[label])
                out[i, j] = LEVELS[min(hits, len(LEVELS) - 1)]
        return out


@dataclass
class StubBundle:
    directory: Path
    policy_path: Path
    classifier: Any = field(default_factory=KeywordClassifier)
    manifest: dict[str, Any] = field(default_factory=lambda: {"version": "keyword-test"})


def write_policy(directory: Path, rules: dict[str, Any] | None = None) -> Path:
    """An identity-calibrated policy with :data:`TEST_THRESHOLDS` and the given rules."""
    policy = Policy(
        thresholds=TEST_THRESHOLDS,
        calibration={label: LabelCalibration() for label in LABELS},
        targets={"label": 0.9, "review": 0.97, "hide": 0.97},
        rules=dict(TEST_RULES if rules is None else rules),
        chosen_on={"data": "tests"},
    )
    return policy.save(Path(directory) / "policy.json")


def stub_bundle(directory: Path, rules: dict[str, Any] | None = None) -> StubBundle:
    directory.mkdir(parents=True, exist_ok=True)
    return StubBundle(directory=directory, policy_path=write_policy(directory, rules))


def screenshot_png(seed: int, size: tuple[int, int] = (360, 640)) -> bytes:
    """A busy synthetic image (boxes and lines), different per seed, as PNG bytes."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(200, 256),) * 3)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1, y1 = x0 + rng.randrange(20, 160), y0 + rng.randrange(10, 60)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x0, y0, x1, y1), fill=colour)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """Run an ASGI app under uvicorn on a free localhost port in a thread (real HTTP, real sockets)."""

    def __init__(self, app: Any, *, startup_timeout_s: float = 120.0) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.startup_timeout_s = startup_timeout_s
        self._thread: Any = None

    def __enter__(self) -> LiveServer:
        import threading
        import time

        self._thread = threading.Thread(target=self.server.run, name="live-uvicorn", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("uvicorn exited during startup (see the log above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start within {self.startup_timeout_s} s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)


def pg_schema_url(base_url: str) -> Any:
    """A context manager: a fresh PostgreSQL schema on ``base_url``, yielded as a URL that uses it.

    Tests on one server never see each other's rows; the schema is dropped afterwards.
    """
    import contextlib
    import uuid

    from sqlalchemy import create_engine, text

    from serve.store.db import normalize_url

    @contextlib.contextmanager
    def manager() -> Any:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(normalize_url(base_url))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in base_url else "?"
        try:
            yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    return manager()
