"""The review pages and their JSON API over HTTP (FastAPI TestClient): sessions, CSRF, roles, the flows.

One app per module, its feed scored through the real ``POST /v1/score``; each test logs in its
own moderators and decides its own items, so tests do not depend on each other's order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from support.review_fixtures import (
    PASSWORD,
    SCORE_KEY,
    add_user,
    api_csrf,
    csrf_of,
    fast_argon2,  # noqa: F401 (a fixture, used by pytestmark)
    login,
    make_app,
    pg_database_url,
    report,
    score_feed,
    settings_for,
)

from serve.review.tables import AuditEntry, Decision, PostImage
from serve.store.db import Store
from serve.store.tables import ReviewItem

VERDICTS_RECRUITMENT = {"hard_sell": "clear", "recruitment": "confirm", "fake_proof": "clear"}

pytestmark = pytest.mark.usefixtures("fast_argon2")


class Site:
    """The running app, its store, and a way to open fresh cookie jars (one per moderator)."""

    def __init__(self, app: Any, store: Store, url: str) -> None:
        self.app = app
        self.store = store
        self.url = url
        self._users = 0

    def client(self) -> TestClient:
        return TestClient(self.app)  # shares the running service; its own cookies

    def moderator(self, role: str = "moderator") -> tuple[TestClient, str]:
        self._users += 1
        name = f"{role[:3]}{self._users:03d}"
        add_user(self.url, name, role)
        client = self.client()
        response = login(client, name)
        assert response.status_code == 303, response.text
        return client, name

    def item_id(self, post_id: str) -> int:
        with self.store.session() as session:
            return session.execute(select(ReviewItem.id).where(ReviewItem.post_id == post_id)).scalar_one()

    def decisions(self, item_id: int) -> list[Decision]:
        with self.store.session() as session:
            return list(session.execute(select(Decision).where(Decision.review_item_id == item_id)).scalars())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("review_api")
    settings = settings_for(home)
    app = make_app(settings)
    with TestClient(app) as feed_client:
        score_feed(feed_client)
        report(feed_client, "life-1", "viewer-1")
        report(feed_client, "life-1", "viewer-2", "fake_proof")
        store = Store(settings.sqlalchemy_url)
        try:
            yield Site(app, store, settings.sqlalchemy_url)
        finally:
            store.dispose()


# ---------------------------------------------------------------------- nothing opens without a session
@pytest.mark.parametrize(
    "path", ["/review", "/review/items/1", "/review/stats", "/review/audit", "/review/images/net-0/0"]
)
def test_pages_without_a_session_redirect_to_login(site: Site, path: str) -> None:
    response = site.client().get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/review/login?next=")


@pytest.mark.parametrize(
    "path", ["/review/api/queue", "/review/api/me", "/review/api/items/1", "/review/api/stats"]
)
def test_api_without_a_session_is_401(site: Site, path: str) -> None:
    response = site.client().get(path)
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_service_api_keys_do_not_open_the_review_pages(site: Site) -> None:
    client = site.client()
    for headers in ({"Authorization": f"Bearer {SCORE_KEY}"}, {"X-API-Key": SCORE_KEY}):
        assert client.get("/review", headers=headers, follow_redirects=False).status_code == 303
        assert client.get("/review/api/queue", headers=headers).status_code == 401
        posted = client.post(
            f"/review/api/items/{site.item_id('rec-1')}/decision",
            json={"verdicts": VERDICTS_RECRUITMENT, "action": "hide"},
            headers=headers,
        )
        assert posted.status_code == 401
    assert site.decisions(site.item_id("rec-1")) == []


def test_posts_without_a_session_are_refused(site: Site) -> None:
    client = site.client()
    response = client.post("/review/undo", data={"csrf_token": "x"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/review/login")
    assert client.post("/review/api/undo", json={}).status_code == 401


# ---------------------------------------------------------------------- login, cookies, CSRF
def test_login_sets_a_hardened_cookie_and_refuses_bad_passwords_and_foreign_redirects(site: Site) -> None:
    add_user(site.url, "login_user")
    client = site.client()
    page = client.get("/review/login")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    token = csrf_of(page.text)
    wrong = client.post(
        "/review/login", data={"username": "login_user", "password": "nope" * 4, "csrf_token": token}
    )
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    page = client.get("/review/login")
    ok = client.post(
        "/review/login",
        data={
            "username": "login_user",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "https://evil.example/steal",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/review"
    cookie = next(h for h in ok.headers.get_list("set-cookie") if h.startswith("fg_review="))
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/review" in lowered
    assert "secure" not in lowered  # development over plain http; production sets it (below)


def test_login_form_without_its_csrf_token_is_403(site: Site) -> None:
    add_user(site.url, "csrf_login")
    client = site.client()
    client.get("/review/login")
    response = client.post("/review/login", data={"username": "csrf_login", "password": PASSWORD})
    assert response.status_code == 403


def test_form_posts_without_a_valid_csrf_token_are_403_and_change_nothing(site: Site) -> None:
    alice, _ = site.moderator()
    bob, _ = site.moderator()
    item = site.item_id("rec-2")
    page = alice.get(f"/review/items/{item}")
    assert page.status_code == 200
    form = {f"verdict_{k}": v for k, v in VERDICTS_RECRUITMENT.items()} | {
        "action": "hide",
        "intent": "decide",
    }
    assert alice.post(f"/review/items/{item}/decision", data=form).status_code == 403
    bobs_token = api_csrf(bob)  # a valid token, but of another session
    assert (
        alice.post(f"/review/items/{item}/decision", data=form | {"csrf_token": bobs_token}).status_code
        == 403
    )
    assert alice.post("/review/logout", data={"csrf_token": ""}).status_code == 403
    api = alice.post(
        f"/review/api/items/{item}/decision", json={"verdicts": VERDICTS_RECRUITMENT, "action": "hide"}
    )
    assert api.status_code == 403 and api.json()["error"] == "csrf"
    assert site.decisions(item) == []
    # ... and with the page's own token it goes through.
    done = alice.post(
        f"/review/items/{item}/decision",
        data=form | {"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "saved=" in done.headers["location"]
    assert [d.action for d in site.decisions(item)] == ["hide"]


def test_logout_ends_the_session_on_the_server(site: Site) -> None:
    client, name = site.moderator()
    stolen = client.cookies.get("fg_review")
    response = client.post("/review/logout", data={"csrf_token": api_csrf(client)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/review/login")
    replay = site.client()
    replay.cookies.set("fg_review", stolen, path="/review")
    assert replay.get("/review", follow_redirects=False).status_code == 303
    with site.store.session() as session:
        events = session.execute(select(AuditEntry.event).where(AuditEntry.target_id == name)).scalars().all()
    assert "login" in events and "logout" in events


def test_production_needs_a_review_secret_and_sets_secure_cookies(tmp_path: Path) -> None:
    keys = [{"name": "feed", "key": SCORE_KEY, "scopes": ["score"]}]
    base = dict(home=tmp_path, environment="production", local_key=False, api_keys=keys)
    from serve.settings import Settings

    with pytest.raises(ValueError, match=r"review\.secret_key"):
        make_app(Settings(**base))
    app = make_app(Settings(**base, review={"secret_key": "s" * 40}))
    add_user(f"sqlite:///{(tmp_path / 'feedguard.db').resolve()}", "prod_user")
    with TestClient(app, base_url="https://testserver") as client:
        response = login(client, "prod_user")
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("fg_review="))
    assert "secure" in cookie.lower()


# ---------------------------------------------------------------------- roles
def test_moderators_cannot_open_admin_pages_and_admins_manage_accounts(site: Site) -> None:
    mod, _ = site.moderator()
    assert mod.get("/review/audit").status_code == 403
    assert mod.get("/review/accounts").status_code == 403
    assert (
        mod.post("/review/accounts", data={"csrf_token": api_csrf(mod), "username": "x" * 5}).status_code
        == 403
    )
    admin, admin_name = site.moderator("admin")
    page = admin.get("/review/accounts")
    assert page.status_code == 200
    bad = admin.post(
        "/review/accounts",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "newbie",
            "role": "moderator",
            "password": "short",
        },
    )
    assert bad.status_code == 422 and "at least 12 characters" in bad.text
    made = admin.post(
        "/review/accounts",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "newbie",
            "role": "moderator",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert login(site.client(), "newbie").status_code == 303
    disabled = admin.post(
        "/review/accounts/newbie/active",
        data={"csrf_token": csrf_of(page.text), "active": "0"},
        follow_redirects=False,
    )
    assert disabled.status_code == 303
    assert login(site.client(), "newbie").status_code == 401
    audit = admin.get("/review/audit", params={"target": "newbie"})
    assert audit.status_code == 200
    assert "account_created" in audit.text and "account_disabled" in audit.text and admin_name in audit.text


# ---------------------------------------------------------------------- the item page
def test_item_page_shows_evasions_scores_reasons_images_and_history(site: Site) -> None:
    client, _ = site.moderator()
    # A reported post: the reports and their reasons.
    reported = client.get(f"/review/items/{site.item_id('life-1')}").text
    assert "User reports (2)" in reported and "seller spam" in reported
    # A seller account: the author's recent posts are listed.
    seller = client.get(f"/review/items/{site.item_id('sell-4')}").text
    assert "Recent posts by seller_lin" in seller and "新款面膜到货" in seller
    page = client.get(f"/review/items/{site.item_id('rec-1')}")  # (opening an item gives back the others)
    assert page.status_code == 200
    html = page.text
    # The homophone and full-width evasions are marked where they stand in the original text.
    assert re.search(r'<mark class="evasion trick-homophone"[^>]*>薇信</mark>', html)
    assert re.search(r'<mark class="evasion trick-fullwidth"[^>]*>ＶＸ</mark>', html)
    assert re.search(r'<mark class="evasion trick-separator"[^>]*>招 募 合伙人</mark>', html)
    assert "加微信" in html  # the normalized text
    assert 'class="tick tick-hide"' in html and "0.96" in html  # score bars with the policy's thresholds
    assert "Reserved for you" in html
    image = client.get("/review/images/rec-1/0")
    assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
    assert '/review/images/rec-1/0"' in html
    assert client.get("/review/images/rec-1/5").status_code == 404
    client.post("/review/logout", data={"csrf_token": csrf_of(html)})  # gives back rec-1 too


def test_thumbnails_are_small_webp_images_of_each_upload(site: Site) -> None:
    with site.store.session() as session:
        rows = session.execute(select(PostImage).where(PostImage.post_id == "proof-1")).scalars().all()
    assert [r.position for r in rows] == [0, 1]
    assert all(
        r.mime == "image/webp" and max(r.width, r.height) <= 480 and len(r.pdq_hash) == 64 for r in rows
    )


def test_cluster_section_lists_every_copy_and_offers_confirm_all(site: Site) -> None:
    client, _ = site.moderator()
    html = client.get(f"/review/items/{site.item_id('net-5')}").text
    assert "6 posts under 6 accounts" in html
    assert "Confirm all 6 in this cluster" in html
    for i in range(6):
        assert f"agent_{i:02d}" in html


def test_two_moderators_on_one_item_the_second_is_refused(site: Site) -> None:
    alice, alice_name = site.moderator()
    bob, _ = site.moderator()
    item = site.item_id("proof-1")
    assert alice.get(f"/review/api/items/{item}").json()["claim"]["ok"] is True
    seen = bob.get(f"/review/api/items/{item}").json()
    assert seen["claim"] == {"ok": False, "holder": alice_name, "expires_at": seen["claim"]["expires_at"]}
    page = bob.get(f"/review/items/{item}")
    assert f"Claimed by <b>{alice_name}</b>" in page.text
    refused = bob.post(
        f"/review/api/items/{item}/decision",
        json={
            "verdicts": {"hard_sell": "clear", "recruitment": "clear", "fake_proof": "confirm"},
            "action": "hide",
        },
        headers={"X-CSRF-Token": api_csrf(bob)},
    )
    assert refused.status_code == 409 and alice_name in refused.json()["message"]
    form = bob.post(
        f"/review/items/{item}/decision",
        data={"csrf_token": csrf_of(page.text), "verdict_fake_proof": "confirm", "intent": "decide"},
    )
    assert form.status_code == 409 and "claimed by" in form.text
    assert site.decisions(item) == []


def test_form_errors_re_render_the_item_with_the_reason(site: Site) -> None:
    client, _ = site.moderator()
    item = site.item_id("sell-4")
    page = client.get(f"/review/items/{item}")
    nothing = client.post(
        f"/review/items/{item}/decision",
        data={
            "csrf_token": csrf_of(page.text),
            "intent": "decide",
            **{f"verdict_{k}": "clear" for k in ("hard_sell", "recruitment", "fake_proof")},
        },
    )
    assert nothing.status_code == 422 and "No label is confirmed" in nothing.text
    wrong = client.post(
        f"/review/items/{item}/decision",
        data={
            "csrf_token": csrf_of(page.text),
            "intent": "decide",
            "verdict_hard_sell": "confirm",
            "action": "clear",
        },
    )
    assert wrong.status_code == 422 and "are confirmed" in wrong.text
    assert site.decisions(item) == []
    client.post("/review/logout", data={"csrf_token": csrf_of(page.text)})


def test_api_decision_undo_and_queue_counters(site: Site) -> None:
    client, _ = site.moderator()
    csrf = api_csrf(client)
    before = client.get("/review/api/queue").json()
    item = site.item_id("life-1")
    assert item in [i["item_id"] for i in before["items"]]
    bad = client.post(
        f"/review/api/items/{item}/decision",
        json={"verdicts": {"hard_sell": "yes"}, "action": "hide"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422 and "'verdicts'" in bad.json()["message"]
    ok = client.post(
        f"/review/api/items/{item}/decision",
        json={
            "verdicts": {"hard_sell": "clear", "recruitment": "clear", "fake_proof": "clear"},
            "action": "clear",
            "note": "a real noodle shop",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert ok.status_code == 201 and ok.json()["decided"] == [item]
    after = client.get("/review/api/queue").json()
    assert after["counters"]["total"] == before["counters"]["total"] - 1
    assert after["counters"]["decided_today_by_me"] == 1
    again = client.post(
        f"/review/api/items/{item}/decision",
        json={
            "verdicts": {"hard_sell": "confirm", "recruitment": "clear", "fake_proof": "clear"},
            "action": "label_seller",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert again.status_code == 409
    undone = client.post("/review/api/undo", json={}, headers={"X-CSRF-Token": csrf})
    assert undone.status_code == 200 and undone.json()["undone"] == [item]
    assert client.post("/review/api/undo", json={}, headers={"X-CSRF-Token": csrf}).status_code == 409
    assert site.decisions(item)[0].undone_at is not None


def test_next_skips_past_items_and_the_undo_form_returns_to_the_item(site: Site) -> None:
    client, _ = site.moderator()
    first = client.get("/review/next?reason=evasion", follow_redirects=False)
    assert first.status_code == 303
    first_id = int(re.search(r"/review/items/(\d+)", first.headers["location"]).group(1))
    page = client.get(first.headers["location"])
    saved = client.post(
        f"/review/items/{first_id}/decision",
        data={"csrf_token": csrf_of(page.text), "intent": "clear", "reason": "evasion"},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and "reason=evasion" in saved.headers["location"]
    landing = client.get(saved.headers["location"])  # the next evasive item, or the queue when none is left
    assert landing.status_code == 200 and ("Saved" in landing.text or "Nothing left" in landing.text)
    undo = client.post("/review/undo", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert undo.status_code == 303 and undo.headers["location"].startswith(
        f"/review/items/{first_id}?undone="
    )
    assert "taken back" in client.get(undo.headers["location"]).text


def test_stats_page_and_api(site: Site) -> None:
    client, _ = site.moderator()
    page = client.get("/review/stats")
    assert page.status_code == 200 and "Model vs moderators" in page.text and 'id="agreement"' in page.text
    data = client.get("/review/api/stats").json()
    assert {a["label"] for a in data["agreement"]} == {"hard_sell", "recruitment", "fake_proof"}
    assert data["active_clusters"][0]["posts"] == 6 and data["active_clusters"][0]["accounts"] == 6


def test_score_api_still_refuses_form_bodies(site: Site) -> None:
    response = site.client().post(
        "/v1/score", data={"posts": "x"}, headers={"Authorization": f"Bearer {SCORE_KEY}"}
    )
    assert response.status_code == 415


@pytest.mark.postgres
def test_the_whole_flow_on_postgresql(tmp_path: Path) -> None:
    """Login, filtered queue, item page, a cluster decision, undo and stats, with PostgreSQL as the store."""
    with pg_database_url() as url:
        app = make_app(settings_for(tmp_path, database_url=url))
        with TestClient(app) as client:
            score_feed(client)
            add_user(url, "pgmod")
            assert login(client, "pgmod").status_code == 303
            queue_page = client.get("/review", params={"label": "recruitment", "reason": "evasion"})
            assert queue_page.status_code == 200 and "rec-1" not in queue_page.text  # ids are not shown...
            assert "宝妈在家就能做" in queue_page.text  # ...but the evasive recruitment post is listed
            first = client.get("/review/next", follow_redirects=False).headers["location"]
            page = client.get(first)
            assert "Confirm all 6 in this cluster" in page.text
            item = int(re.search(r"/review/items/(\d+)", first).group(1))
            done = client.post(
                f"/review/items/{item}/decision",
                data={
                    "csrf_token": csrf_of(page.text),
                    "intent": "cluster",
                    "verdict_hard_sell": "confirm",
                    "verdict_recruitment": "clear",
                    "verdict_fake_proof": "confirm",
                    "action": "hide",
                },
                follow_redirects=False,
            )
            assert done.status_code == 303
            stats = client.get("/review/api/stats").json()
            assert stats["decisions_per_day"][-1]["total"] == 6
            undo = client.post("/review/api/undo", json={}, headers={"X-CSRF-Token": api_csrf(client)})
            assert undo.status_code == 200 and len(undo.json()["undone"]) == 6


def test_queue_page_filters_and_pages(site: Site) -> None:
    client, _ = site.moderator()
    full = client.get("/review")
    assert full.status_code == 200 and "Review queue" in full.text and "Start reviewing" in full.text
    recruiting = client.get("/review", params={"label": "recruitment"}).text
    assert "宝妈在家就能做" in recruiting and "面馆" not in recruiting
    reported = client.get("/review", params={"reason": "report"}).text
    assert "面馆" in reported and "宝妈在家就能做" not in reported
    second = client.get("/review", params={"page": 2})
    assert second.status_code == 200 and "previous page" in second.text
    assert client.get("/review", params={"label": "spam"}).status_code == 422
    assert client.get("/review/api/queue", params={"reason": "vibes"}).status_code == 422


def test_a_moderators_seller_label_reaches_the_feed_filter(site: Site) -> None:
    feed_api = site.client()
    auth = {"Authorization": f"Bearer {SCORE_KEY}"}
    report(feed_api, "life-2", "viewer-3")
    client, _ = site.moderator()
    item = site.item_id("life-2")
    decided = client.post(
        f"/review/api/items/{item}/decision",
        json={
            "verdicts": {"hard_sell": "confirm", "recruitment": "clear", "fake_proof": "clear"},
            "action": "label_seller",
        },
        headers={"X-CSRF-Token": api_csrf(client)},
    )
    assert decided.status_code == 201, decided.text
    put = feed_api.put("/v1/users/viewer-hides/preferences", json={"hide_seller_posts": True}, headers=auth)
    assert put.status_code == 200, put.text

    def hidden_for(viewer: str) -> dict[str, str]:
        response = feed_api.post(
            "/v1/feed/filter", json={"viewer_id": viewer, "post_ids": ["life-2"]}, headers=auth
        )
        assert response.status_code == 200, response.text
        return {h["post_id"]: h["reason"] for h in response.json()["hide"]}

    assert "moderator" in hidden_for("viewer-hides")["life-2"]
    assert hidden_for("viewer-shows-all") == {}
