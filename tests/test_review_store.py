"""The review queue's store logic (no HTTP): accounts, leases, decisions, undo, audit, queue order, stats.

Runs on SQLite always and on PostgreSQL when ``FEEDGUARD_TEST_PG_URL`` is set. Posts get into
the queue the way the service puts them there: the real Scorer (keyword classifier, real
duplicate indexes) and the same store writes as ``POST /v1/score``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from support.review_fixtures import (
    cluster_posts,
    fast_argon2,  # noqa: F401 (a fixture, used by pytestmark)
    migrated_store,
    score_into,
    when,
)
from support.serve_fixtures import stub_bundle

from model.evidence import EvidenceFinder
from model.labels import LABELS
from model.scorer import PostInput, Scorer
from serve.review import accounts, decisions, queue, stats
from serve.review.accounts import Account
from serve.review.decisions import DecisionInput, NothingToUndo, ReviewConflict
from serve.review.sessions import SessionManager
from serve.review.tables import AuditEntry, Decision, ReviewLease
from serve.store import repo
from serve.store.db import MIGRATIONS_DIR, Store
from serve.store.tables import Post, ReviewItem

LEASE = timedelta(minutes=5)
PASSWORD = "a long enough password"
WINDOW = timedelta(minutes=15)

pytestmark = pytest.mark.usefixtures("fast_argon2")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with migrated_store(request.param, tmp_path) as s:
        yield s


@pytest.fixture
def scorer(tmp_path: Path) -> Scorer:
    return Scorer(stub_bundle(tmp_path / "bundle"), evidence=EvidenceFinder())


def add(store: Store, name: str, role: str = "moderator") -> Account:
    with store.write() as session:
        return accounts.as_account(
            accounts.create_moderator(session, name, PASSWORD, role, min_password_chars=12)
        )


def items(store: Store) -> dict[str, ReviewItem]:
    with store.session() as session:
        return {i.post_id: i for i in session.execute(select(ReviewItem)).scalars()}


# ---------------------------------------------------------------------- accounts and sessions
def test_passwords_are_argon2_hashed_and_logins_are_audited_and_throttled(store: Store) -> None:
    add(store, "alice")
    with store.session() as session:
        row = accounts.get_by_name(session, "alice")
        assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    with store.write() as session:
        ok = accounts.authenticate(session, "Alice ", PASSWORD, max_failures=3, window=WINDOW)
        assert ok.moderator is not None and ok.moderator.last_login_at is not None
    for _ in range(3):
        with store.write() as session:
            bad = accounts.authenticate(session, "alice", "wrong password!!", max_failures=3, window=WINDOW)
            assert (
                bad.moderator is None and not bad.throttled and "Wrong user name or password" in bad.message
            )
    with store.write() as session:  # the right password no longer helps: throttled
        locked = accounts.authenticate(session, "alice", PASSWORD, max_failures=3, window=WINDOW)
        assert locked.moderator is None and locked.throttled
        unknown = accounts.authenticate(session, "nobody", PASSWORD, max_failures=3, window=WINDOW)
        assert unknown.moderator is None and unknown.message == bad.message  # no name oracle
    with store.session() as session:
        events = [e.event for e in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
    assert events == ["account_created", "login_failed", "login_failed", "login_failed", "login_failed"]


@pytest.mark.parametrize(
    ("username", "password", "role", "match"),
    [
        ("Bob", PASSWORD, "moderator", "'username'"),
        ("b", PASSWORD, "moderator", "'username'"),
        ("bob", "short", "moderator", "'password'"),
        ("bob", PASSWORD, "superuser", "'role'"),
    ],
)
def test_bad_account_input_raises_value_error_naming_the_field(
    store: Store, username: str, password: str, role: str, match: str
) -> None:
    with store.write() as session, pytest.raises(ValueError, match=match):
        accounts.create_moderator(session, username, password, role, min_password_chars=12)


def test_duplicate_accounts_are_refused_and_disabled_accounts_cannot_log_in(store: Store) -> None:
    add(store, "carol")
    with store.write() as session, pytest.raises(ValueError, match="existing account"):
        accounts.create_moderator(session, "carol", PASSWORD, "admin", min_password_chars=12)
    with store.write() as session:
        accounts.set_active(session, "carol", False)
    with store.write() as session:
        outcome = accounts.authenticate(session, "carol", PASSWORD, max_failures=5, window=WINDOW)
    assert outcome.moderator is None


def test_sessions_end_on_logout_and_when_the_account_is_disabled(store: Store) -> None:
    add(store, "dave")
    manager = SessionManager("x" * 40, lifetime=timedelta(hours=1), secure_cookies=True)
    with store.write() as session:
        cookie, login = manager.start(session, accounts.get_by_name(session, "dave"))
        cookie2, _ = manager.start(session, accounts.get_by_name(session, "dave"))
    with store.session() as session:
        assert manager.find(session, cookie).account.username == "dave"
        assert manager.find(session, cookie + "x") is None  # bad signature
        assert manager.find(session, None) is None
        forged = SessionManager("y" * 40, lifetime=timedelta(hours=1), secure_cookies=True)
        assert forged.find(session, cookie) is None
    assert manager.check_csrf(login, manager.csrf_token(login))
    assert not manager.check_csrf(login, None) and not manager.check_csrf(login, "garbage")
    with store.write() as session:
        manager.end(session, login)
    with store.session() as session:
        assert manager.find(session, cookie) is None
        assert manager.find(session, cookie2) is not None
    with store.write() as session:
        accounts.set_active(session, "dave", False)
    with store.session() as session:
        assert manager.find(session, cookie2) is None
    form_cookie, token = manager.login_form()
    assert manager.check_login_form(form_cookie, token)
    assert not manager.check_login_form(form_cookie, form_cookie) and not manager.check_login_form(
        None, token
    )


# ---------------------------------------------------------------------- queue order and filters
def test_queue_order_is_priority_then_newest_and_filters_narrow_it(store: Store, scorer: Scorer) -> None:
    score_into(store, scorer, cluster_posts(5))  # net-3, net-4 reach review through 3+ other accounts
    score_into(
        store,
        scorer,
        [
            PostInput("rec-a", "招募代理，宝妈月入过万", "m1", when(30)),
            PostInput("rec-b", "招募代理，宝妈月入过万，加薇信", "m2", when(31)),
            PostInput("life", "楼下新开的面馆挺好吃", "z", when(32)),
        ],
    )
    alice = add(store, "alice")
    with store.session() as session:
        rows = queue.list_items(session, alice.id, queue.Filters(), limit=50)
        order = [r.post.post_id for r in rows]
        # net-4 reaches 4 other accounts, net-3 three; rec-a and rec-b tie, rec-b came later.
        assert order == ["net-4", "net-3", "rec-b", "rec-a"]
        priorities = [r.item.priority for r in rows]
        assert priorities == sorted(priorities, reverse=True)
        assert rows[2].item.priority == rows[3].item.priority
        recruit = queue.list_items(session, alice.id, queue.Filters(label="recruitment"), limit=50)
        assert [r.post.post_id for r in recruit] == ["rec-b", "rec-a"]
        evasive = queue.list_items(session, alice.id, queue.Filters(reason="evasion"), limit=50)
        assert [r.post.post_id for r in evasive] == ["rec-b"]
        dup = queue.list_items(session, alice.id, queue.Filters(reason="image_duplicate"), limit=50)
        assert [r.post.post_id for r in dup] == ["net-4", "net-3"]
        counts = queue.counters(session, alice.id, queue.Filters())
        assert counts.total == counts.available == 4
        assert counts.by_label["recruitment"] == 2 and counts.by_reason["evasion"] == 1
    with pytest.raises(ValueError, match="'label' filter"):
        queue.Filters(label="spam")
    with pytest.raises(ValueError, match="'reason' filter"):
        queue.Filters(reason="vibes")


def test_reports_raise_priority_and_enter_the_queue(store: Store, scorer: Scorer) -> None:
    score_into(store, scorer, [PostInput("quiet", "楼下新开的面馆挺好吃", "z", when(0))])
    assert "quiet" not in items(store)
    with store.write() as session:
        post = session.get(Post, "quiet")
        repo.add_report(session, post, "viewer1", "seller_spam", None)
        repo.add_report(session, post, "viewer2", "fake_proof", None)
    item = items(store)["quiet"]
    assert item.report_count == 2 and item.priority > 2.0
    with store.session() as session:
        assert (
            queue.list_items(session, 1, queue.Filters(reason="report"), limit=5)[0].post.post_id == "quiet"
        )


# ---------------------------------------------------------------------- leases
def test_two_moderators_never_hold_the_same_item_and_leases_expire(store: Store, scorer: Scorer) -> None:
    score_into(store, scorer, [PostInput("rec", "招募代理，宝妈月入过万", "m1", when(0))])
    alice, bob = add(store, "alice"), add(store, "bob")
    item_id = items(store)["rec"].id
    with store.write() as session:
        assert queue.claim(session, item_id, alice.id, LEASE).ok
    with store.write() as session:
        theirs = queue.claim(session, item_id, bob.id, LEASE)
        assert not theirs.ok and theirs.holder == "alice"
        assert queue.next_item(session, bob.id, queue.Filters(), LEASE) is None  # nothing free for bob
        assert queue.claim(session, item_id, alice.id, LEASE).ok  # renewing our own lease is fine
    with store.write() as session, pytest.raises(ReviewConflict, match="claimed by alice"):
        decisions.decide(session, item_id, bob, DecisionInput.confirm(["recruitment"]), lease=LEASE)
    # The lease runs out: bob may take the item now, and alice can no longer decide it.
    with store.write() as session:
        session.execute(update(ReviewLease).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    with store.write() as session:
        assert queue.next_item(session, bob.id, queue.Filters(), LEASE).id == item_id
    with store.write() as session, pytest.raises(ReviewConflict, match="claimed by bob"):
        decisions.decide(session, item_id, alice, DecisionInput.confirm(["recruitment"]), lease=LEASE)
    with store.write() as session:
        decisions.decide(session, item_id, bob, DecisionInput.confirm(["recruitment"]), lease=LEASE)
    with store.session() as session:
        assert session.execute(select(ReviewLease)).scalars().all() == []  # released after deciding


def test_next_and_previous_walk_the_queue_in_order(store: Store, scorer: Scorer) -> None:
    score_into(store, scorer, cluster_posts(5))
    score_into(store, scorer, [PostInput("rec", "招募代理，宝妈月入过万", "m1", when(40))])
    alice = add(store, "alice")
    by_post = {k: v.id for k, v in items(store).items()}
    with store.write() as session:
        first = queue.next_item(session, alice.id, queue.Filters(), LEASE)
        second = queue.next_item(session, alice.id, queue.Filters(), LEASE, after=first)
        third = queue.next_item(session, alice.id, queue.Filters(), LEASE, after=second)
        wrapped = queue.next_item(session, alice.id, queue.Filters(), LEASE, after=third)
        back = queue.next_item(session, alice.id, queue.Filters(), LEASE, after=second, backwards=True)
        top = queue.next_item(session, alice.id, queue.Filters(), LEASE, after=first, backwards=True)
    assert [first.id, second.id, third.id] == [by_post["net-4"], by_post["net-3"], by_post["rec"]]
    assert wrapped.id == first.id and back.id == first.id and top is None


# ---------------------------------------------------------------------- decisions, clusters, undo
def test_decision_input_is_validated() -> None:
    with pytest.raises(ValueError, match="'verdicts'"):
        DecisionInput({"hard_sell": "confirm"}, "hide")
    with pytest.raises(ValueError, match="'verdicts'"):
        DecisionInput(dict.fromkeys(LABELS, "maybe"), "hide")
    with pytest.raises(ValueError, match="'action'"):
        DecisionInput(dict.fromkeys(LABELS, "clear"), "ban")
    with pytest.raises(ValueError, match="no label is confirmed"):
        DecisionInput(dict.fromkeys(LABELS, "clear"), "hide")
    with pytest.raises(ValueError, match="are confirmed"):
        DecisionInput.confirm(["hard_sell"]).__class__(
            {**dict.fromkeys(LABELS, "clear"), "hard_sell": "confirm"}, "clear"
        )
    with pytest.raises(ValueError, match="'note'"):
        DecisionInput.clear_all("x" * 1001)
    assert DecisionInput.confirm(["hard_sell"]).action == "label_seller"
    assert DecisionInput.confirm(["hard_sell", "fake_proof"]).action == "hide"
    assert DecisionInput.clear_all("  ").note is None


def test_a_decision_is_written_with_its_audit_row_and_cannot_be_made_twice(
    store: Store, scorer: Scorer
) -> None:
    score_into(store, scorer, [PostInput("rec", "招募代理，宝妈月入过万", "m1", when(0))])
    alice, bob = add(store, "alice"), add(store, "bob")
    item_id = items(store)["rec"].id
    with store.write() as session:
        out = decisions.decide(
            session, item_id, alice, DecisionInput.confirm(["recruitment"], "ladder pitch"), lease=LEASE
        )
    assert out.decided == [item_id]
    with store.session() as session:
        row = session.execute(select(Decision)).scalar_one()
        entry = session.execute(select(AuditEntry).where(AuditEntry.event == "decide")).scalar_one()
        assert row.verdicts == {"hard_sell": "clear", "recruitment": "confirm", "fake_proof": "clear"}
        assert row.action == "hide" and row.note == "ladder pitch" and row.previous_status == "open"
        assert row.model_labels == ["recruitment"] and row.model_scores["recruitment"] > 0.9
        assert entry.actor == "alice" and entry.target_id == str(item_id)
        assert entry.before["status"] == "open" and entry.after["status"] == "decided"
        assert entry.after["verdicts"]["recruitment"] == "confirm" and entry.after["note"] == "ladder pitch"
    assert items(store)["rec"].status == "decided"
    with store.write() as session, pytest.raises(ReviewConflict, match="already decided by alice"):
        decisions.decide(session, item_id, bob, DecisionInput.clear_all(), lease=LEASE)


def test_actions_in_force_follow_decisions_and_undo(store: Store, scorer: Scorer) -> None:
    score_into(store, scorer, [PostInput("a", "招募代理，宝妈月入过万", "m1", when(0))])
    score_into(store, scorer, [PostInput("b", "招募代理，宝妈月入过万啊", "m2", when(1))])
    alice = add(store, "alice")
    ids = {k: v.id for k, v in items(store).items()}
    with store.write() as session:
        decisions.decide(session, ids["a"], alice, DecisionInput.confirm(["recruitment"]), lease=LEASE)
        decisions.decide(session, ids["b"], alice, DecisionInput.clear_all(), lease=LEASE)
    with store.session() as session:
        assert decisions.actions_in_force(session, ["a", "b", "zzz"]) == {"a": "hide", "b": "clear"}
    with store.write() as session:
        decisions.undo_last(session, alice, lease=LEASE)
    with store.session() as session:
        assert decisions.actions_in_force(session, ["a", "b"]) == {"a": "hide"}
        assert decisions.actions_in_force(session, []) == {}


def test_migrations_downgrade_and_upgrade_again(store: Store) -> None:
    add(store, "frank")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001_initial")
    with store.session() as session:
        assert not store.engine.dialect.has_table(session.connection(), "decisions")
    store.migrate()
    with store.session() as session:
        assert store.engine.dialect.has_table(session.connection(), "audit_log")
    add(store, "gina")  # a row to refuse deleting
    with pytest.raises(DBAPIError, match="append-only"), store.write() as session:
        session.execute(text("DELETE FROM audit_log"))  # the triggers came back with the tables


def test_the_audit_log_is_append_only_in_the_database(store: Store) -> None:
    add(store, "erin")
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.write() as session:
            session.execute(text(statement))
    with store.session() as session:
        assert [e.actor for e in session.execute(select(AuditEntry)).scalars()] == ["system"]


def test_a_cluster_decision_covers_every_copy_and_one_undo_takes_it_back(
    store: Store, scorer: Scorer
) -> None:
    score_into(store, scorer, cluster_posts(5))
    alice, bob = add(store, "alice"), add(store, "bob")
    before = items(store)
    assert set(before) == {"net-3", "net-4"}  # only these reached 'review'
    with store.write() as session:  # bob is looking at net-3: it must be left alone
        assert queue.claim(session, before["net-3"].id, bob.id, LEASE).ok
    with store.write() as session:
        key = decisions.actionable_in_cluster(session, before["net-4"].cluster_id, alice.id)
        assert key == 4  # net-0 .. net-4 minus bob's net-3
        out = decisions.decide(
            session,
            before["net-4"].id,
            alice,
            DecisionInput.confirm(["hard_sell", "fake_proof"]),
            lease=LEASE,
            scope="cluster",
        )
    assert len(out.decided) == 4 and out.skipped == {"net-3": "claimed by bob"}
    after = items(store)
    assert {p: i.status for p, i in after.items()} == {
        "net-0": "decided",
        "net-1": "decided",
        "net-2": "decided",
        "net-3": "open",
        "net-4": "decided",
    }
    assert after["net-0"].source == "cluster"  # the upline's original, never queued by itself
    with store.session() as session:
        rows = session.execute(select(Decision)).scalars().all()
        assert len({r.batch_id for r in rows}) == 1 and {r.scope for r in rows} == {"cluster"}
    with store.write() as session:
        undone = decisions.undo_last(session, alice, lease=LEASE)
    assert sorted(undone.decided) == sorted(out.decided)
    assert {i.status for p, i in items(store).items()} == {"open"}
    with store.session() as session:
        assert all(
            r.undone_at is not None and r.undone_by == alice.id
            for r in session.execute(select(Decision)).scalars()
        )
        undo_audit = session.execute(select(AuditEntry).where(AuditEntry.event == "undo")).scalars().all()
        assert len(undo_audit) == 4 and all(e.before["status"] == "decided" for e in undo_audit)
        lease = session.get(ReviewLease, undone.decided[0])
        assert lease is not None and lease.moderator_id == alice.id  # back in alice's hands
    with store.write() as session, pytest.raises(NothingToUndo):
        decisions.undo_last(session, alice, lease=LEASE)


def test_escalations_go_to_admins_and_undo_restores_the_previous_status(store: Store, scorer: Scorer) -> None:
    score_into(store, scorer, [PostInput("odd", "招募代理，宝妈月入过万", "m1", when(0))])
    mod, admin = add(store, "mod"), add(store, "boss", "admin")
    item_id = items(store)["odd"].id
    with store.write() as session:
        decisions.decide(
            session,
            item_id,
            mod,
            DecisionInput(dict.fromkeys(LABELS, "clear"), "escalate", "unsure"),
            lease=LEASE,
        )
    with store.session() as session:
        assert queue.list_items(session, mod.id, queue.Filters(), limit=5) == []
        assert [
            r.item.id for r in queue.list_items(session, admin.id, queue.Filters(view="escalated"), limit=5)
        ] == [item_id]
    with store.write() as session, pytest.raises(ReviewConflict, match="already escalated"):
        decisions.decide(session, item_id, mod, DecisionInput.clear_all(), lease=LEASE)
    with store.write() as session:
        decisions.decide(session, item_id, admin, DecisionInput.confirm(["recruitment"]), lease=LEASE)
    with store.write() as session:
        decisions.undo_last(session, admin, lease=LEASE)
    assert items(store)["odd"].status == "escalated"
    with store.write() as session:  # the moderator's escalation was overtaken: not undone by them
        out = decisions.undo_last(session, mod, lease=LEASE)
    assert out.decided == [item_id] and items(store)["odd"].status == "open"


# ---------------------------------------------------------------------- stats
def test_stats_count_decisions_per_day_agreement_and_active_clusters(store: Store, scorer: Scorer) -> None:
    score_into(store, scorer, cluster_posts(5))
    score_into(store, scorer, [PostInput("rec", "招募代理，宝妈月入过万", "m1", when(40))])
    alice = add(store, "alice")
    ids = {k: v.id for k, v in items(store).items()}
    with store.write() as session:
        decisions.decide(session, ids["rec"], alice, DecisionInput.confirm(["recruitment"]), lease=LEASE)
        decisions.decide(session, ids["net-4"], alice, DecisionInput.confirm(["hard_sell"]), lease=LEASE)
        decisions.decide(session, ids["net-3"], alice, DecisionInput.clear_all(), lease=LEASE)
    with store.session() as session:
        days = stats.decisions_per_day(session, days=3)
        table = {a.label: a for a in stats.agreement(session)}
        active = stats.active_clusters(session, days=3650, limit=5)
    assert (
        len(days) == 3
        and days[-1].total == 3
        and days[-1].by_action == {"label_seller": 1, "hide": 1, "clear": 1, "escalate": 0}
    )
    # net-4 and net-3 were flagged hard_sell + fake_proof by the model; rec recruitment only.
    assert (table["recruitment"].both, table["recruitment"].neither) == (1, 2)
    assert (table["hard_sell"].both, table["hard_sell"].model_only, table["hard_sell"].neither) == (1, 1, 1)
    assert table["fake_proof"].model_only == 2 and table["fake_proof"].precision == 0.0
    assert table["hard_sell"].agreement == pytest.approx(2 / 3)
    assert len(active) == 1 and active[0].posts == 5 and active[0].accounts == 5 and active[0].open_items == 0
    with pytest.raises(ValueError, match="'days'"), store.session() as session:
        stats.decisions_per_day(session, days=0)
