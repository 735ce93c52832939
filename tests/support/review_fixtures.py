"""Helpers for the review-queue tests: an app with the keyword scorer and real duplicate indexes,
a small realistic feed scored through the real ``POST /v1/score``, and moderator accounts.

Scores come from :class:`support.serve_fixtures.KeywordClassifier` (predictable per keyword), the
duplicate evidence from the real :class:`model.evidence.EvidenceFinder`, so the queue, clusters,
thumbnails and reasons are what the service really writes.
"""

from __future__ import annotations

import io
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from support.serve_fixtures import b64, screenshot_png, stub_bundle

from model.evidence import EvidenceFinder
from model.scorer import PostInput, Scorer
from serve.app import create_app
from serve.review import accounts, intake
from serve.settings import Settings
from serve.store import repo
from serve.store.db import Store

SCORE_KEY = "review-score-key-0123456789"
#: Real argon2id with cheap parameters: the production ones cost ~0.1-1 s per hash on a busy 2-core box,
#: and the tests log in dozens of times. Used by :func:`fast_argon2`.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PG_URL = os.environ.get("FEEDGUARD_TEST_PG_URL")
PASSWORD = "correct horse battery staple"


def settings_for(home: Path, database_url: str | None = None, **review: Any) -> Settings:
    return Settings(
        home=home,
        database_url=database_url or f"sqlite:///{home / 'feedguard.db'}",
        api_keys=[{"name": "feed", "key": SCORE_KEY, "scopes": ["score", "feed", "preferences"]}],
        local_key=False,
        batch_wait_ms=1.0,
        review=review,
    )


@pytest.fixture
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash test passwords with :data:`FAST_HASHER` (verification reads the parameters from each hash)."""
    monkeypatch.setattr(accounts, "_hasher", FAST_HASHER)


def make_app(settings: Settings) -> Any:
    home = settings.home
    return create_app(
        settings, scorer_factory=lambda s: Scorer(stub_bundle(home / "bundle"), evidence=EvidenceFinder())
    )


def add_user(url: str, username: str, role: str = "moderator", password: str = PASSWORD) -> None:
    store = Store(url)
    try:
        store.migrate()
        with store.write() as session:
            accounts.create_moderator(session, username, password, role, min_password_chars=12)
    finally:
        store.dispose()


@contextmanager
def migrated_store(kind: str, directory: Path) -> Iterator[Store]:
    """A migrated store: SQLite under ``directory``, or a fresh PostgreSQL schema (``kind="postgres"``)."""
    if kind == "sqlite":
        store = Store(f"sqlite:///{directory / 'review.db'}")
        store.migrate()
        try:
            yield store
        finally:
            store.dispose()
        return
    with pg_database_url() as url:
        store = Store(url)
        store.migrate()
        try:
            yield store
        finally:
            store.dispose()


@contextmanager
def pg_database_url() -> Iterator[str]:
    """A fresh schema on the configured PostgreSQL server, dropped afterwards (skips without one)."""
    if not PG_URL:
        pytest.skip("FEEDGUARD_TEST_PG_URL is not set (no PostgreSQL server configured for this run)")
    schema = f"r_{uuid.uuid4().hex[:12]}"
    admin = create_engine(Store(PG_URL).url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _post(
    pid: str, author: str, minute: int, text_: str, images: list[bytes] | None = None
) -> dict[str, Any]:
    return {
        "post_id": pid,
        "author_id": author,
        "created_at": f"2026-11-20T{8 + minute // 60:02d}:{minute % 60:02d}:00+08:00",
        "text": text_,
        "images": [b64(i) for i in images or []],
    }


CLUSTER_TEXT = "今日收款截图，姐妹们的反馈太好了！私聊下单，全国包邮，加V信咨询"
#: Amounts each agent edits into the upline's payment screenshot (the first is the original).
CLUSTER_AMOUNTS = ("3680", "3680", "5200", "12888", "3680", "980")


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _images(realistic: bool) -> dict[str, Any]:
    """Phone screenshots from the data generator (slow, for the browser), or cheap synthetic ones."""
    if not realistic:
        proof = screenshot_png(7)
        return {
            "cluster": [proof] * 6,
            "rec": screenshot_png(21),
            "proof": [screenshot_png(33), screenshot_png(34)],
        }
    from data.images.screenshots import render_screenshot

    size = (375, 667)
    return {
        "cluster": [
            _png(render_screenshot("payment", 7, edits={"amount": a}, size=size)) for a in CLUSTER_AMOUNTS
        ],
        "rec": _png(render_screenshot("chat", 21, size=size)),
        "proof": [
            _png(render_screenshot("orders", 33, size=size)),
            _png(render_screenshot("chat", 34, size=size)),
        ],
    }


def feed(*, realistic_images: bool = False) -> list[dict[str, Any]]:
    """A small feed: a six-account cluster, evasive recruitment, a seller account, normal posts."""
    images = _images(realistic_images)
    posts = [
        _post(f"net-{i}", f"agent_{i:02d}", i * 7, CLUSTER_TEXT, [images["cluster"][i]]) for i in range(6)
    ]
    posts += [
        _post(
            "rec-1",
            "mama_wang",
            50,
            "诚招代理！宝妈在家就能做，月入过✖万，零门槛 招 募 合伙人\n加薇信 ＶＸ：１３８ ８８８８ ８８８８",
            [images["rec"]],
        ),
        _post("rec-2", "team_leader", 55, "團隊招募代理，寶媽月入過萬，帶你飛！一件代发零库存"),
        _post(
            "proof-1",
            "xiao_li",
            61,
            "又发货200单！客户反馈超好，好评如潮，收款到手软～ jia wei xin 了解",
            images["proof"],
        ),
        _post("sell-1", "seller_lin", 20, "新款面膜到货，私聊下单，包邮"),
        _post("sell-2", "seller_lin", 30, "酵素果冻限时优惠，私聊下单"),
        _post("sell-3", "seller_lin", 40, "最后十盒，微信下单包邮优惠"),
        _post("sell-4", "seller_lin", 70, "代理价拿货，宝妈月入过万，私聊微信下单包邮"),
        _post("life-1", "zhang_san", 12, "楼下新开的面馆挺好吃，周末带娃去吃了两次"),
        _post("life-2", "chen_yu", 15, "在微信上问了朋友，这款面膜真的好用吗？"),
    ]
    return posts


def score_feed(client: Any, posts: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Score the feed through the real API (``client``: TestClient or httpx.Client), one post per call
    in time order, as the feed pipeline would send them."""
    results = []
    for post in sorted(posts or feed(), key=lambda p: p["created_at"]):
        response = client.post(
            "/v1/score", json={"posts": [post]}, headers={"Authorization": f"Bearer {SCORE_KEY}"}
        )
        assert response.status_code == 200, response.text
        results.extend(response.json()["results"])
    return results


def report(client: Any, post_id: str, reporter: str, reason: str = "seller_spam") -> None:
    response = client.post(
        "/v1/reports",
        json={"post_id": post_id, "reporter_id": reporter, "reason": reason},
        headers={"Authorization": f"Bearer {SCORE_KEY}"},
    )
    assert response.status_code in (200, 201), response.text


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    """Log in through the form (with its CSRF token); returns the response to the POST."""
    page = client.get("/review/login")
    assert page.status_code == 200, page.text
    return client.post(
        "/review/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": "/review",
        },
        follow_redirects=False,
    )


def api_csrf(client: Any) -> str:
    response = client.get("/review/api/me")
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]


# ---------------------------------------------------------------------- store-level helpers
def when(minute: int) -> datetime:
    return datetime(2026, 11, 20, 8, tzinfo=UTC) + timedelta(minutes=minute)


def score_into(store: Store, scorer: Scorer, posts: list[PostInput]) -> None:
    """What POST /v1/score stores: scores, queue entries, cluster membership."""
    prepared = scorer.prepare(posts)
    results = scorer.score(prepared)
    pairs = list(zip(prepared, results, strict=True))
    with store.write() as session:
        repo.save_scored(session, pairs, scorer.model_version)
        intake.record_clusters(session, pairs)


def cluster_posts(n: int = 5) -> list[PostInput]:
    image = screenshot_png(7)
    return [
        PostInput(
            f"net-{i}", "今日收款，客户反馈超好，私聊下单包邮", f"agent{i}", when(i), image_bytes=(image,)
        )
        for i in range(n)
    ]
