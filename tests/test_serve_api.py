"""The HTTP API in-process (FastAPI TestClient): auth, every bad input of issue 5, flows, metrics, store outage.

Scores come from the keyword test classifier (tests/support/serve_fixtures.py) so each test can
say which action a post must get; the real release model is exercised in test_serve_e2e.py.
"""

from __future__ import annotations

import io
import json
import logging
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from support.serve_fixtures import b64, pg_schema_url, screenshot_png, stub_bundle

from model.scorer import Scorer
from serve.app import create_app
from serve.settings import Settings

SCORE_KEY = "score-key-0123456789abcdef"
FEED_KEY = "feed-key-0123456789abcdef"
PREF_KEY = "pref-key-0123456789abcdef"


def _settings(home: Path, **overrides) -> Settings:
    values = dict(
        home=home,
        database_url=f"sqlite:///{home / 'feedguard.db'}",
        api_keys=[
            {"name": "scorer", "key": SCORE_KEY, "scopes": ["score"]},
            {"name": "feed", "key": FEED_KEY, "scopes": ["feed"]},
            {"name": "prefs", "key": PREF_KEY, "scopes": ["preferences"]},
        ],
        batch_wait_ms=1.0,
    )
    values.update(overrides)
    return Settings(**values)


def _client(home: Path, **overrides) -> TestClient:
    settings = _settings(home, **overrides)
    app = create_app(settings, scorer_factory=lambda s: Scorer(stub_bundle(home / "bundle")))
    return TestClient(app)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with _client(tmp_path) as c:
        yield c


def auth(key: str = SCORE_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def post(pid: str, text: str = "今天带娃去公园，天气真好", **extra) -> dict:
    return {
        "post_id": pid,
        "author_id": "a1",
        "created_at": "2026-11-20T08:00:00+08:00",
        "text": text,
        **extra,
    }


def score(client: TestClient, posts: list[dict], key: str = SCORE_KEY):
    return client.post("/v1/score", json={"posts": posts}, headers=auth(key))


def assert_bad(response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "field"}
    assert field in body["message"] or field == body["field"], body


# ---------------------------------------------------------------------- auth
def test_keys_and_scopes(client: TestClient) -> None:
    body = {"posts": [post("p1")]}
    missing = client.post("/v1/score", json=body)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/v1/score", json=body, headers=auth("not-a-key-at-all-xxxx")).status_code == 401
    wrong_scope = client.post("/v1/score", json=body, headers=auth(FEED_KEY))
    assert wrong_scope.status_code == 403 and "'score' scope" in wrong_scope.json()["message"]
    assert client.post("/v1/score", json=body, headers={"X-API-Key": SCORE_KEY}).status_code == 200
    assert client.get("/v1/users/u1/preferences", headers=auth(SCORE_KEY)).status_code == 403
    assert client.get("/v1/users/u1/preferences", headers=auth(PREF_KEY)).status_code == 200
    assert (
        client.post(
            "/v1/feed/filter", json={"viewer_id": "u1", "post_ids": ["p1"]}, headers=auth(PREF_KEY)
        ).status_code
        == 403
    )


def test_local_key_is_generated_under_home_with_every_scope(tmp_path: Path) -> None:
    with _client(tmp_path) as c:
        key = (tmp_path / "local_api_key").read_text().strip()
        assert len(key) >= 32
        assert (tmp_path / "local_api_key").stat().st_mode & 0o777 == 0o600
        assert score(c, [post("p1")], key=key).status_code == 200
        assert c.get("/v1/users/u1/preferences", headers=auth(key)).status_code == 200
    with _client(tmp_path / "other", local_key=False) as c:
        assert score(c, [post("p1")], key=key).status_code == 401


def test_production_refuses_the_generated_key() -> None:
    with pytest.raises(ValueError, match="local_key"):
        Settings(environment="production", api_keys=[{"name": "x", "key": SCORE_KEY, "scopes": ["score"]}])


def test_keys_never_reach_the_log(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    score(client, [post("p1")])
    client.post("/v1/score", json={"posts": [post("p1")]}, headers=auth("wrong-key-but-secret-123"))
    client.get("/v1/users/u1/preferences", headers=auth(SCORE_KEY))
    assert SCORE_KEY not in caplog.text and "wrong-key-but-secret-123" not in caplog.text


# ---------------------------------------------------------------------- scoring
def test_score_returns_scores_action_reasons_and_caches_by_content(client: TestClient) -> None:
    r = score(client, [post("n1"), post("s1", "招募代理，宝妈在家月入过万，加薇信私聊")])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stored"] is True and body["model_version"] == "keyword-test"
    normal, seller = body["results"]
    assert normal["post_id"] == "n1" and normal["action"] == "allow" and normal["labels"] == []
    assert seller["action"] == "hide" and "recruitment" in seller["labels"]
    assert seller["seller"] == max(seller["scores"].values())
    kinds = {reason["kind"] for reason in seller["reasons"]}
    assert {"model", "evasion"} <= kinds
    assert "homophone" in seller["tricks"]
    assert all(reason["detail"] for reason in seller["reasons"])
    again = score(client, [post("s1", "招募代理，宝妈在家月入过万，加薇信私聊")]).json()["results"][0]
    assert again["cached"] is True and again["scores"] == seller["scores"]
    changed = score(client, [post("s1", "今天天气很好")]).json()["results"][0]
    assert changed["cached"] is False and changed["action"] == "allow"


def test_images_as_base64_and_precomputed_hashes_are_accepted(client: TestClient) -> None:
    png = screenshot_png(1)
    r = score(client, [post("img1", images=[b64(png)]), post("img2", image_hashes=["f" * 64])])
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------------- bad input (issue 5's list)
def _png_with_huge_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _tiff() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(buf, format="TIFF")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("case", "posts", "field"),
    [
        ("empty text", [post("p1", "")], "posts[0].text"),
        ("whitespace text", [post("p1", " \n\t　")], "posts[0].text"),
        ("text over the limit", [post("p1", "广" * 10_001)], "posts[0].text"),
        ("NUL in text", [post("p1", "abc\x00def")], "posts[0].text"),
        ("missing post_id", [{"text": "你好"}], "posts[0].post_id"),
        ("missing text", [{"post_id": "p1"}], "posts[0].text"),
        ("bad id characters", [post("p 1")], "posts[0].post_id"),
        ("duplicate ids", [post("p1"), post("p2"), post("p1")], "posts[2].post_id"),
        ("naive created_at", [post("p1", created_at="2026-11-20T08:00:00")], "posts[0].created_at"),
        ("absurd created_at", [post("p1", created_at="0001-01-01T00:00:00+05:00")], "posts[0].created_at"),
        ("invalid base64", [post("p1", images=["not base64!!"])], "posts[0].images[0]"),
        (
            "corrupt image",
            [post("p1", images=[b64(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)])],
            "posts[0].images[0]",
        ),
        ("truncated image", [post("p1", images=[b64(screenshot_png(3)[:400])])], "posts[0].images[0]"),
        (
            "decompression bomb",
            [post("p1", images=[b64(_png_with_huge_header(60_000, 60_000))])],
            "posts[0].images[0]",
        ),
        ("unsupported format", [post("p1", images=[b64(_tiff())])], "posts[0].images[0]"),
        ("bad pdq hash", [post("p1", image_hashes=["xyz"])], "posts[0].image_hashes[0]"),
        ("too many images", [post("p1", image_hashes=["a" * 64] * 10)], "posts[0].image_hashes"),
        ("unknown field", [post("p1", colour="red")], "posts[0].colour"),
        ("empty batch", [], "posts"),
        ("batch over the limit", [post(f"p{i}") for i in range(257)], "posts"),
    ],
)
def test_bad_input_gets_4xx_naming_the_field(
    client: TestClient, case: str, posts: list[dict], field: str
) -> None:
    r = score(client, posts)
    assert_bad(r, 422, field)
    # Nothing else broke: the next good request is scored.
    assert score(client, [post("after-" + case.replace(" ", "-"))]).status_code == 200


def test_lone_surrogate_is_refused(client: TestClient) -> None:
    raw = '{"posts": [{"post_id": "p1", "text": "abc \\ud800 def"}]}'
    r = client.post("/v1/score", content=raw.encode(), headers={**auth(), "Content-Type": "application/json"})
    assert_bad(r, 422, "posts[0].text")
    assert "unicode" in r.json()["message"].lower() or "UTF-8" in r.json()["message"]


def test_invalid_utf8_body_is_refused(client: TestClient) -> None:
    raw = b'{"posts": [{"post_id": "p1", "text": "\xff\xfe bad"}]}'
    r = client.post("/v1/score", content=raw, headers={**auth(), "Content-Type": "application/json"})
    assert_bad(r, 400, "body")
    assert "UTF-8" in r.json()["message"]


def test_malformed_json_is_refused(client: TestClient) -> None:
    r = client.post(
        "/v1/score", content=b'{"posts": [', headers={**auth(), "Content-Type": "application/json"}
    )
    assert_bad(r, 400, "body")


def test_wrong_content_type_is_refused(client: TestClient) -> None:
    r = client.post(
        "/v1/score",
        content=b"posts=1",
        headers={**auth(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_bad(r, 415, "content-type")
    r = client.post("/v1/score", content=json.dumps({"posts": [post("p1")]}).encode(), headers=auth())
    assert r.status_code == 415


def test_body_over_the_byte_limit_is_refused(tmp_path: Path) -> None:
    with _client(tmp_path, max_body_bytes=2_000) as c:
        r = score(c, [post("p1", "好" * 1_000)])
        assert_bad(r, 413, "body")

        # Also when the client streams without announcing a length.
        def chunks() -> Iterator[bytes]:
            yield b'{"posts": [{"post_id": "p1", "text": "'
            for _ in range(50):
                yield b"x" * 100
            yield b'"}]}'

        r = c.post("/v1/score", content=chunks(), headers={**auth(), "Content-Type": "application/json"})
        assert_bad(r, 413, "body")
        assert score(c, [post("p2")]).status_code == 200


# ---------------------------------------------------------------------- preferences, feed filter, reports
def test_preferences_filter_and_reports_flow(client: TestClient) -> None:
    _flow(client)


@pytest.mark.postgres
def test_the_same_flow_on_postgresql(tmp_path: Path) -> None:
    url = os.environ.get("FEEDGUARD_TEST_PG_URL")
    if not url:
        pytest.skip("FEEDGUARD_TEST_PG_URL is not set (no PostgreSQL server configured for this run)")
    with pg_schema_url(url) as schema_url, _client(tmp_path, database_url=schema_url) as c:
        assert c.get("/readyz").json()["store"]["backend"] == "postgresql"
        _flow(c)


def _flow(client: TestClient) -> None:
    score(
        client,
        [
            post("normal"),
            post("ad", "面膜包邮，私聊下单"),
            post("pyramid", "招募代理，宝妈月入过万"),
        ],
    )
    prefs = client.get("/v1/users/viewer1/preferences", headers=auth(PREF_KEY)).json()
    assert prefs == {"user_id": "viewer1", "hide_seller_posts": False, "updated_at": None}
    put = client.put(
        "/v1/users/viewer1/preferences", json={"hide_seller_posts": True}, headers=auth(PREF_KEY)
    )
    assert put.status_code == 200 and put.json()["hide_seller_posts"] is True
    assert (
        client.get("/v1/users/viewer1/preferences", headers=auth(PREF_KEY)).json()["hide_seller_posts"]
        is True
    )

    body = {"viewer_id": "viewer1", "post_ids": ["normal", "ad", "pyramid", "unseen"]}
    filtered = client.post("/v1/feed/filter", json=body, headers=auth(FEED_KEY)).json()
    assert [h["post_id"] for h in filtered["hide"]] == ["ad", "pyramid"]
    assert filtered["unknown"] == ["unseen"]
    other = client.post(
        "/v1/feed/filter", json={**body, "viewer_id": "viewer2"}, headers=auth(FEED_KEY)
    ).json()
    assert [h["post_id"] for h in other["hide"]] == ["pyramid"]

    rep = client.post(
        "/v1/reports",
        json={"post_id": "normal", "reporter_id": "u9", "reason": "fraud"},
        headers=auth(FEED_KEY),
    )
    assert rep.status_code == 201 and rep.json()["review"]["report_count"] == 1
    again = client.post(
        "/v1/reports",
        json={"post_id": "normal", "reporter_id": "u9", "reason": "fraud"},
        headers=auth(FEED_KEY),
    )
    assert again.status_code == 200 and again.json()["duplicate"] is True
    missing = client.post(
        "/v1/reports",
        json={"post_id": "nope", "reporter_id": "u9", "reason": "fraud"},
        headers=auth(FEED_KEY),
    )
    assert_bad(missing, 404, "post_id")


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("put", "/v1/users/u1/preferences", {"hide_seller_posts": "yes"}, "hide_seller_posts"),
        ("put", "/v1/users/u1/preferences", {}, "hide_seller_posts"),
        ("put", "/v1/users/bad%20id/preferences", {"hide_seller_posts": True}, "user_id"),
        ("post", "/v1/feed/filter", {"viewer_id": "v", "post_ids": []}, "post_ids"),
        ("post", "/v1/feed/filter", {"viewer_id": "v", "post_ids": ["a", "a"]}, "post_ids"),
        ("post", "/v1/feed/filter", {"post_ids": ["a"]}, "viewer_id"),
        ("post", "/v1/reports", {"post_id": "p", "reporter_id": "u", "reason": "boring"}, "reason"),
        (
            "post",
            "/v1/reports",
            {"post_id": "p", "reporter_id": "u", "reason": "fraud", "note": "x" * 1001},
            "note",
        ),
    ],
)
def test_bad_input_on_other_routes(client: TestClient, method: str, url: str, body: dict, field: str) -> None:
    key = PREF_KEY if "preferences" in url else FEED_KEY
    r = getattr(client, method)(url, json=body, headers=auth(key))
    assert_bad(r, 422, field)


# ---------------------------------------------------------------------- health, metrics, store outage
def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["store"]["ok"] is True
    score(client, [post("m1"), post("m2", "招募代理，宝妈月入过万")])
    text = client.get("/metrics").text
    assert 'feedguard_http_requests_total{method="POST",route="/v1/score",status="200"} 1.0' in text
    assert 'feedguard_label_actions_total{action="hide",label="recruitment"} 1.0' in text
    assert 'feedguard_posts_scored_total{action="allow"} 1.0' in text
    assert "feedguard_model_batch_posts_bucket" in text
    assert "feedguard_http_request_seconds_bucket" in text
    assert "feedguard_batch_queue_posts" in text


def test_scoring_keeps_working_when_the_store_is_down(tmp_path: Path) -> None:
    # Nothing listens on port 1: every store call fails fast.
    with _client(tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none") as c:
        r = score(c, [post("p1", "面膜包邮，私聊下单")])
        assert r.status_code == 200 and r.json()["stored"] is False
        assert r.json()["results"][0]["action"] == "label"
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["store"]["ok"] is False
        prefs = c.get("/v1/users/u1/preferences", headers=auth(PREF_KEY))
        assert prefs.status_code == 503 and prefs.json()["error"] == "not_ready"
        assert "Retry-After" in prefs.headers
        metrics = c.get("/metrics").text
        assert "feedguard_store_up 0.0" in metrics
        # The circuit breaker: after the failed start-up migration, requests did not retry the store.
        assert 'feedguard_store_errors_total{operation="migrate"} 1.0' in metrics
        assert 'operation="store scores"' not in metrics
