"""Kill test: SIGKILL the server between (and during) decisions; every acknowledged decision survives.

The service runs as its own process (``tests/support/review_server.py``) on SQLite in WAL mode.
A moderator decides items over HTTP; the process is killed without warning, sometimes with a
decision in flight, and started again on the same ``FEEDGUARD_HOME``. Afterwards every decision
the server acknowledged (``201``) is in the store, in force, and its item is decided; an
acknowledged undo is undone. A decision in flight at the kill may or may not have been
committed, and that is fine only because it was never acknowledged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from support.review_fixtures import (
    SCORE_KEY,
    add_user,
    fast_argon2,  # noqa: F401 (a fixture, used by pytestmark)
    login,
)
from support.serve_fixtures import free_port

from serve.review.tables import Decision
from serve.store.db import Store
from serve.store.tables import ReviewItem

SERVER = Path(__file__).resolve().parent / "support" / "review_server.py"
ROOT = Path(__file__).resolve().parents[1]
VERDICTS = {"hard_sell": "clear", "recruitment": "confirm", "fake_proof": "clear"}

pytestmark = pytest.mark.usefixtures("fast_argon2")


class Server:
    """The service in a child process, restartable on the same home and port."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), str(self.home), str(self.port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become ready in 120 s")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path)
    try:
        yield srv
    finally:
        if srv.process is not None:
            srv.kill()


def _recruitment_posts(n: int) -> list[dict[str, str]]:
    return [
        {
            "post_id": f"rec-{i:03d}",
            "author_id": f"agent{i}",
            "created_at": f"2026-11-20T09:{i % 60:02d}:00+08:00",
            "text": f"招募代理第{i}期，宝妈在家月入过万，名额{i}个",
        }
        for i in range(n)
    ]


def test_every_acknowledged_decision_survives_sigkill(server: Server) -> None:
    _decide_kill_restart(server, kills=1)


@pytest.mark.slow
def test_every_acknowledged_decision_survives_repeated_sigkills(server: Server) -> None:
    _decide_kill_restart(server, kills=4)


def _decide_kill_restart(server: Server, *, kills: int) -> None:
    """Decide four items, kill with a fifth in flight, restart; ``kills`` times; then check the store."""
    server.start()
    with httpx.Client(base_url=server.url, timeout=30) as feed:
        scored = feed.post(
            "/v1/score",
            json={"posts": _recruitment_posts(24)},
            headers={"Authorization": f"Bearer {SCORE_KEY}"},
        )
        assert scored.status_code == 200 and {r["action"] for r in scored.json()["results"]} == {"hide"}
    url = f"sqlite:///{server.home / 'feedguard.db'}"
    add_user(url, "kim")

    moderator = httpx.Client(base_url=server.url, timeout=30)
    assert login(moderator, "kim").status_code == 303
    acknowledged: dict[int, str] = {}  # item id -> batch id
    in_flight: list[int] = []

    def csrf() -> str:
        return moderator.get("/review/api/me").json()["csrf_token"]

    def open_items() -> list[int]:
        queue = moderator.get("/review/api/queue", params={"limit": 100}).json()
        return [i["item_id"] for i in queue["items"] if i["status"] == "open"]

    def decide(item: int, token: str) -> None:
        response = moderator.post(
            f"/review/api/items/{item}/decision",
            json={"verdicts": VERDICTS, "action": "hide"},
            headers={"X-CSRF-Token": token},
        )
        assert response.status_code == 201, response.text
        acknowledged[item] = response.json()["batch_id"]

    def decide_in_flight(item: int, token: str) -> None:
        try:
            decide(item, token)
        except httpx.TransportError:
            in_flight.append(item)  # killed before the answer: not acknowledged

    undone_batch: str | None = None
    for round_ in range(kills):
        token = csrf()  # the session and its CSRF token survive restarts (both live in the store)
        for item in open_items()[:4]:
            decide(item, token)
        if round_ == 0:  # an acknowledged undo must survive too
            undo = moderator.post("/review/api/undo", json={}, headers={"X-CSRF-Token": token})
            assert undo.status_code == 200
            undone_batch = undo.json()["batch_id"]
            acknowledged = {k: v for k, v in acknowledged.items() if v != undone_batch}
        # Kill with one decision on the wire.
        victim = open_items()[0]
        thread = threading.Thread(target=decide_in_flight, args=(victim, token))
        thread.start()
        time.sleep(0.01 * round_)
        server.kill()
        thread.join(timeout=30)
        server.start()
    moderator.close()

    store = Store(url)
    try:
        with store.session() as session:
            rows = session.execute(select(Decision)).scalars().all()
            in_force = {d.batch_id: d for d in rows if d.undone_at is None}
            statuses = dict(session.execute(select(ReviewItem.id, ReviewItem.status)).all())
    finally:
        store.dispose()
    assert len(acknowledged) >= 3 * kills
    for item, batch in acknowledged.items():
        assert batch in in_force, f"acknowledged decision on item {item} (batch {batch}) was lost"
        assert in_force[batch].review_item_id == item and statuses[item] == "decided"
    assert undone_batch is not None
    assert all(d.undone_at is not None for d in rows if d.batch_id == undone_batch)
    # Nothing half-written: every item marked decided has a decision in force, and vice versa.
    decided_items = {i for i, s in statuses.items() if s == "decided"}
    assert decided_items == {d.review_item_id for d in in_force.values()}
