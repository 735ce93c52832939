"""The review page in a real browser: Debian chromium driven by Playwright against uvicorn on localhost.

A moderator logs in, works three items by keyboard alone (confirm, clear, toggle a label and
confirm; ``k`` back to the previous one), confirms a whole duplicate cluster with one key,
undoes it, and logs out. The store is checked after each step. The item view is saved as a PNG
in the test's temporary folder, so a test run never dirties the tree; to refresh the committed
picture of the page, run it with ``FEEDGUARD_REVIEW_SCREENSHOT=eval/reports/review_item.png``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from support.review_fixtures import (
    PASSWORD,
    add_user,
    fast_argon2,  # noqa: F401 (a fixture, used by pytestmark)
    feed,
    make_app,
    report,
    score_feed,
    settings_for,
)
from support.serve_fixtures import LiveServer

from model.labels import LABELS
from serve.review.tables import Decision
from serve.store.db import Store
from serve.store.tables import Post, ReviewItem

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT_ENV = "FEEDGUARD_REVIEW_SCREENSHOT"
TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.usefixtures("fast_argon2"),
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    settings = settings_for(tmp_path)
    with LiveServer(make_app(settings)) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            score_feed(client, feed(realistic_images=True))
            report(client, "life-1", "viewer-1")
            report(client, "life-1", "viewer-2")
        add_user(settings.sqlalchemy_url, "alice", "moderator")
        store = Store(settings.sqlalchemy_url)
        try:
            yield server.url, store
        finally:
            store.dispose()


def _decisions(store: Store) -> list[Decision]:
    with store.session() as session:
        return list(session.execute(select(Decision).order_by(Decision.id)).scalars())


def _item_id(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator("body").get_attribute("data-item"))


def _key_then_page(page, key: str, marker: str) -> None:  # type: ignore[no-untyped-def]
    """Press ``key`` and wait for the page it leads to (a URL with ``marker``, not the current one)."""
    old = page.url
    page.keyboard.press(key)
    page.wait_for_url(lambda u: u != old and marker in u)


def test_moderator_works_the_queue_by_keyboard(site: tuple[str, Store], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    url, store = site
    screenshot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "review_item.png")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            _work_the_queue(page, url, store, screenshot)
        finally:
            browser.close()


def _work_the_queue(page, url: str, store: Store, screenshot: Path) -> None:  # type: ignore[no-untyped-def]
    expect = pytest.importorskip("playwright.sync_api").expect

    # Without a session the queue sends us to the login form.
    page.goto(f"{url}/review")
    assert "/review/login" in page.url
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"{url}/review")
    expect(page.locator("h1")).to_have_text("Review queue")

    # --- three items by keyboard, in the recruitment view ---------------------------------
    page.click("a.chip.lab-recruitment")
    page.wait_for_url("**label=recruitment**")
    page.keyboard.press("j")
    page.wait_for_url("**/review/items/**")
    first = _item_id(page)
    expect(page.locator("#lease")).to_contain_text("Reserved for you")
    _key_then_page(page, "c", "saved=")  # confirm the model's labels, suggested action
    expect(page.locator("#saved")).to_contain_text("Saved")
    second = _item_id(page)
    assert second != first

    page.keyboard.press("k")  # back to the one just decided (read-only now)
    page.wait_for_url(f"**/review/items/{first}**")
    expect(page.locator(".lease.done")).to_contain_text("by alice")
    page.keyboard.press("j")
    page.wait_for_url(f"**/review/items/{second}**")

    _key_then_page(page, "x", "saved=")  # clear: not a seller post
    third = _item_id(page)
    assert third not in (first, second)
    before = page.locator('.verdict[data-label="hard_sell"] input[value="confirm"]').is_checked()
    page.keyboard.press("1")  # toggle hard_sell, then confirm
    assert page.locator('.verdict[data-label="hard_sell"] input[value="confirm"]').is_checked() != before
    _key_then_page(page, "c", "queue_empty")  # that was the last recruitment item
    expect(page.locator(".banner-info")).to_contain_text("Nothing left to review")

    decided = {d.review_item_id: d for d in _decisions(store)}
    assert set(decided) == {first, second, third}
    assert decided[second].action == "clear" and set(decided[second].verdicts.values()) == {"clear"}
    assert decided[first].verdicts["recruitment"] == "confirm" and decided[first].action == "hide"
    assert (decided[third].verdicts["hard_sell"] == "confirm") != before
    assert all(
        d.moderator_id == decided[first].moderator_id and d.undone_at is None for d in decided.values()
    )

    # --- the top of the unfiltered queue is the six-account cluster: the item view ---------
    page.keyboard.press("g")
    page.keyboard.press("q")
    page.wait_for_url(f"{url}/review")
    page.keyboard.press("j")
    page.wait_for_url("**/review/items/**")
    cluster_item = _item_id(page)
    expect(page.locator("#cluster")).to_contain_text("6 posts under 6 accounts")
    expect(page.locator("#btn-cluster")).to_contain_text("Confirm all 6")
    expect(page.locator("mark.evasion").first).to_be_visible()
    expect(page.locator(".images img").first).to_be_visible()
    page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG")

    _key_then_page(page, "Shift+C", "saved=")  # confirm the whole cluster
    expect(page.locator("#saved")).to_contain_text("6 posts of a cluster")
    with store.session() as session:
        cluster_id = session.get(ReviewItem, cluster_item).cluster_id
        members = session.execute(select(Post.post_id).where(Post.post_id.like("net-%"))).scalars().all()
    batch = [d for d in _decisions(store) if d.scope == "cluster"]
    assert cluster_id and len(batch) == 6 and len({d.batch_id for d in batch}) == 1
    assert {d.post_id for d in batch} == set(members)
    expected = {label: "confirm" if label in ("hard_sell", "fake_proof") else "clear" for label in LABELS}
    assert all(d.verdicts == expected and d.action == "hide" for d in batch)

    # --- undo takes the whole cluster back --------------------------------------------------
    _key_then_page(page, "u", "undone=")
    expect(page.locator("#undone")).to_contain_text("6 decisions taken back")
    assert _item_id(page) == cluster_item
    assert all(d.undone_at is not None for d in _decisions(store) if d.scope == "cluster")
    with store.session() as session:
        statuses = (
            session.execute(select(ReviewItem.status).where(ReviewItem.post_id.in_(members))).scalars().all()
        )
    assert statuses and set(statuses) == {"open"}

    # --- log out: the session is gone -----------------------------------------------------
    page.click("#logout")
    page.wait_for_url("**/review/login**")
    page.goto(f"{url}/review/items/{cluster_item}")
    assert "/review/login" in page.url
