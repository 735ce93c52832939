"""The store: migrations and repository functions, on SQLite always and PostgreSQL when configured.

PostgreSQL runs when ``FEEDGUARD_TEST_PG_URL`` points at a server (``.ci/run`` and ``make test``
start one; see tests/support/postgres.sh). Each PostgreSQL test gets its own schema, so runs
never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import StatementError
from support.serve_fixtures import pg_schema_url

from model.scorer import PostInput, ScoreResult
from serve.store import Post, ReviewItem, Store, repo
from serve.store.db import MIGRATIONS_DIR

PG_URL = os.environ.get("FEEDGUARD_TEST_PG_URL")


def _pg_store() -> Iterator[Store]:
    if not PG_URL:
        pytest.skip("FEEDGUARD_TEST_PG_URL is not set (no PostgreSQL server configured for this run)")
    with pg_schema_url(PG_URL) as url:
        store = Store(url)
        try:
            yield store
        finally:
            store.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'store.db'}")
        s.migrate()
        yield s
        s.dispose()
    else:
        for s in _pg_store():
            s.migrate()
            yield s


def _result(
    post_id: str, action: str = "allow", seller: float = 0.1, labels=(), accounts: int = 0
) -> ScoreResult:
    scores = {"hard_sell": seller, "recruitment": seller / 2, "fake_proof": seller / 3}
    return ScoreResult(
        post_id=post_id,
        scores=scores,
        seller=seller,
        labels=list(labels),
        action=action,
        reasons=[{"kind": "model", "label": lab, "detail": f"{lab} {seller:.2f}"} for lab in labels],
        tricks=["homophone"] if labels else [],
        normalized_text="加微信",
        evidence={"cluster_id": f"c-{post_id}" if accounts else None, "other_accounts": accounts},
        image_hashes=["ab" * 32] if accounts else [],
        content_hash=f"h-{post_id}-{action}",
    )


def _post(post_id: str, author: str = "a1", text_: str = "今天天气不错 🌞") -> PostInput:
    return PostInput(
        post_id=post_id, text=text_, author_id=author, created_at=datetime(2026, 11, 20, 8, tzinfo=UTC)
    )


def _save(store: Store, *items: tuple[PostInput, ScoreResult]) -> None:
    with store.write() as session:
        repo.save_scored(session, list(items), "test-model")


def test_migrations_create_the_schema_and_are_idempotent(store: Store) -> None:
    store.migrate()  # second run is a no-op
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert store.current_revision() == head
    tables = set(inspect(store.engine).get_table_names())
    assert {"posts", "review_items", "reports", "user_preferences", "alembic_version"} <= tables
    cols = {c["name"] for c in inspect(store.engine).get_columns("review_items")}
    assert {"post_id", "priority", "reasons", "status", "created_at", "report_count", "cluster_id"} <= cols


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    s.migrate()
    with s.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    s.dispose()


def test_scored_posts_round_trip_with_text_times_and_json(store: Store) -> None:
    post = PostInput(
        post_id="p1",
        text="招 代 理！薇信 abc123 😀",
        author_id="a1",
        created_at=datetime(2026, 11, 20, 16, 30, tzinfo=timezone(timedelta(hours=8))),
    )
    _save(store, (post, _result("p1", "label", 0.91, ["hard_sell"])))
    with store.session() as session:
        row = repo.get_post(session, "p1")
        assert row is not None
        assert row.text == post.text
        assert row.created_at == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
        assert row.created_at.tzinfo is not None
        assert row.labels == ["hard_sell"] and row.action == "label"
        assert row.scores["hard_sell"] == pytest.approx(0.91)
        assert row.reasons[0]["kind"] == "model"
        assert row.model_version == "test-model"


def test_rescoring_overwrites_the_post_and_only_flagged_posts_are_queued(store: Store) -> None:
    _save(
        store,
        (_post("p1"), _result("p1", "allow")),
        (_post("p2"), _result("p2", "label", 0.9, ["hard_sell"])),
    )
    _save(store, (_post("p3"), _result("p3", "review", 0.98, ["fake_proof"], accounts=4)))
    with store.session() as session:
        queued = {item.post_id: item for item in repo.review_queue(session)}
    assert set(queued) == {"p3"}
    assert queued["p3"].source == "score"
    assert queued["p3"].priority == pytest.approx(repo.review_priority(0.98, 0, 4))
    assert queued["p3"].cluster_id == "c-p3"
    # Content changed: the post is re-scored as hide and queued; the row is replaced, not duplicated.
    _save(store, (_post("p1", text_="加我微信 代理"), _result("p1", "hide", 0.99, ["recruitment"])))
    with store.session() as session:
        assert session.execute(select(Post).where(Post.post_id == "p1")).scalar_one().action == "hide"
        assert len(session.execute(select(Post)).scalars().all()) == 3
        assert {i.post_id for i in repo.review_queue(session)} == {"p1", "p3"}


def test_preferences_default_set_and_update(store: Store) -> None:
    with store.session() as session:
        assert repo.get_preference(session, "u1") is None
    with store.write() as session:
        row = repo.set_preference(session, "u1", True)
        assert row.hide_seller_posts is True
    with store.write() as session:
        repo.set_preference(session, "u1", False)
    with store.session() as session:
        row = repo.get_preference(session, "u1")
        assert row is not None and row.hide_seller_posts is False and row.updated_at.tzinfo is not None


def test_feed_filter_hides_sellers_only_for_viewers_who_asked(store: Store) -> None:
    _save(
        store,
        (_post("normal"), _result("normal", "allow", 0.05)),
        (_post("ad"), _result("ad", "label", 0.92, ["hard_sell"])),
        (_post("pyramid"), _result("pyramid", "hide", 0.99, ["recruitment"])),
    )
    with store.write() as session:
        repo.set_preference(session, "picky", True)
    ids = ["normal", "ad", "pyramid", "never-scored"]
    with store.session() as session:
        picky = repo.filter_feed(session, "picky", ids)
        relaxed = repo.filter_feed(session, "someone-else", ids)
    assert picky.hide_seller_posts is True
    assert [h.post_id for h in picky.hide] == ["ad", "pyramid"]
    assert "viewer hides seller posts" in picky.hide[0].reason and "hard_sell 0.92" in picky.hide[0].reason
    assert "by policy" in picky.hide[1].reason
    assert picky.unknown == ["never-scored"]
    # Without the preference only the policy-hidden post goes; the ad stays in the feed.
    assert [h.post_id for h in relaxed.hide] == ["pyramid"]
    assert relaxed.hide_seller_posts is False


def test_reports_raise_priority_once_per_reporter_and_queue_unflagged_posts(store: Store) -> None:
    _save(store, (_post("quiet"), _result("quiet", "allow", 0.2)))
    with store.write() as session:
        post = repo.get_post(session, "quiet")
        first = repo.add_report(session, post, "u1", "fake_proof", "same screenshot everywhere")
        assert first.duplicate is False and first.item.report_count == 1
        assert first.item.source == "report"
        assert first.item.priority == pytest.approx(repo.review_priority(0.2, 1, 0))
    with store.write() as session:
        post = repo.get_post(session, "quiet")
        again = repo.add_report(session, post, "u1", "fraud", None)
        assert again.duplicate is True and again.item.report_count == 1
        second = repo.add_report(session, post, "u2", "seller_spam", None)
        assert second.duplicate is False and second.item.report_count == 2
        assert second.item.priority == pytest.approx(repo.review_priority(0.2, 2, 0))
        assert any(r.get("kind") == "report" for r in second.item.reasons)
    # Re-scoring a reported post keeps its reports in the priority.
    _save(store, (_post("quiet"), _result("quiet", "review", 0.97, ["fake_proof"], accounts=2)))
    with store.session() as session:
        item = session.execute(select(ReviewItem).where(ReviewItem.post_id == "quiet")).scalar_one()
        assert item.report_count == 2
        assert item.priority == pytest.approx(repo.review_priority(0.97, 2, 2))
        assert item.source == "report"


def test_review_queue_orders_by_priority_then_newest(store: Store) -> None:
    _save(store, (_post("low"), _result("low", "review", 0.97, ["fake_proof"])))
    _save(store, (_post("tie-old"), _result("tie-old", "review", 0.98, ["fake_proof"])))
    _save(store, (_post("tie-new"), _result("tie-new", "review", 0.98, ["fake_proof"])))
    _save(store, (_post("wide"), _result("wide", "review", 0.97, ["fake_proof"], accounts=30)))
    with store.session() as session:
        order = [i.post_id for i in repo.review_queue(session)]
    assert order == ["wide", "tie-new", "tie-old", "low"]


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="timezone-aware"), store.write() as session:
        repo.set_preference(session, "u1", True)
        row = repo.get_preference(session, "u1")
        assert row is not None
        row.updated_at = datetime(2026, 1, 1)  # naive
        session.flush()


def test_feed_filter_follows_moderator_decisions_over_the_model(store: Store) -> None:
    _save(
        store,
        (_post("missed"), _result("missed", "allow", 0.10)),
        (_post("wrongly-hidden"), _result("wrongly-hidden", "hide", 0.99, ["recruitment"])),
        (_post("seller"), _result("seller", "allow", 0.30)),
        (_post("overkill"), _result("overkill", "hide", 0.99, ["hard_sell"])),
    )
    with store.write() as session:
        repo.set_preference(session, "picky", True)
    ids = ["missed", "wrongly-hidden", "seller", "overkill"]
    moderated = {
        "missed": "hide",
        "wrongly-hidden": "clear",
        "seller": "label_seller",
        "overkill": "label_seller",
    }
    with store.session() as session:
        picky = repo.filter_feed(session, "picky", ids, moderated)
        relaxed = repo.filter_feed(session, "someone-else", ids, moderated)
    assert [h.post_id for h in relaxed.hide] == ["missed"]
    assert "by a moderator" in relaxed.hide[0].reason
    assert [h.post_id for h in picky.hide] == ["missed", "seller", "overkill"]
    assert all("moderator" in h.reason for h in picky.hide)
