"""Back into training: ``feedguard data export-decisions`` -> ``feedguard data build --extra DIR``.

Decisions are made with the review queue's own functions on a real store (SQLite, and
PostgreSQL when configured), exported through the CLI verb, and the export is fed to the
dataset build, whose ``train`` split must then hold exactly the moderators' labels.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from support.review_fixtures import (
    cluster_posts,
    fast_argon2,  # noqa: F401 (a fixture, used by pytestmark)
    migrated_store,
    score_into,
    when,
)
from support.serve_fixtures import stub_bundle
from typer.testing import CliRunner

from data.build import BuildPlan, build_with_plan, load_build
from data.cli import app as data_app
from data.decisions_export import EXPORT_FILE, MANIFEST_FILE, export_decisions, pseudonym
from model.evidence import EvidenceFinder
from model.labels import LABELS
from model.scorer import PostInput, Scorer
from serve.review import accounts, decisions, queue
from serve.review.decisions import DecisionInput
from serve.store.db import Store
from serve.store.tables import ReviewItem
from train.release import moderator_rows

pytestmark = pytest.mark.usefixtures("fast_argon2")
LEASE = timedelta(minutes=5)
TINY = BuildPlan(
    generated=300, eval_ratio=0.6, real_share=0.2, real_normal=40, images=20, evade_normal_share=0.25
)
SALT = "s" * 32


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with migrated_store(request.param, tmp_path) as s:
        yield s


def _decide_a_day(store: Store, tmp_path: Path) -> dict[str, int]:
    """Two moderators decide: confirmations, a clear, a cluster, an escalation, and an undone decision."""
    scorer = Scorer(stub_bundle(tmp_path / "bundle"), evidence=EvidenceFinder())
    score_into(store, scorer, cluster_posts(5))
    score_into(
        store,
        scorer,
        [
            PostInput("rec", "招募代理，宝妈在家月入过万", "m1", when(30)),
            PostInput("rec-undo", "诚招代理，宝妈月入过万，零门槛", "m2", when(31)),
            PostInput("unsure", "代理招募，宝妈兼职月入过万吗", "m3", when(32)),
            PostInput("fine", "招募代理？宝妈群里月入过万的都是骗子", "m4", when(33)),
        ],
    )
    with store.write() as session:
        ann = accounts.as_account(
            accounts.create_moderator(session, "ann", "x" * 12, "moderator", min_password_chars=12)
        )
        ben = accounts.as_account(
            accounts.create_moderator(session, "ben", "y" * 12, "moderator", min_password_chars=12)
        )
    with store.session() as session:
        ids = {i.post_id: i.id for i in session.query(ReviewItem)}
    with store.write() as session:
        decisions.decide(
            session, ids["rec"], ann, DecisionInput.confirm(["recruitment"], "ladder"), lease=LEASE
        )
        decisions.decide(
            session, ids["fine"], ann, DecisionInput.clear_all("complaint about 微商"), lease=LEASE
        )
        decisions.decide(
            session,
            ids["unsure"],
            ben,
            DecisionInput(dict.fromkeys(LABELS, "clear"), "escalate"),
            lease=LEASE,
        )
        decisions.decide(
            session,
            ids["net-4"],
            ben,
            DecisionInput.confirm(["hard_sell", "fake_proof"]),
            lease=LEASE,
            scope="cluster",
        )
    with store.write() as session:
        decisions.decide(session, ids["rec-undo"], ann, DecisionInput.confirm(["hard_sell"]), lease=LEASE)
    with store.write() as session:
        decisions.undo_last(session, ann, lease=LEASE)
        queue.release_others(session, ann.id, keep=-1)
    return {"ann": ann.id, "ben": ben.id}


def test_export_writes_the_decisions_in_force_with_hashed_ids(store: Store, tmp_path: Path) -> None:
    people = _decide_a_day(store, tmp_path)
    out = tmp_path / "export"
    runner = CliRunner()
    result = runner.invoke(
        data_app,
        [
            "export-decisions",
            "--out",
            str(out),
            "--database-url",
            store.url,
            "--salt-file",
            str(tmp_path / "salt"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "exported 7 decisions" in result.output
    rows = [json.loads(line) for line in (out / EXPORT_FILE).read_text("utf-8").splitlines()]
    by_post = {r["post_id"]: r for r in rows}
    # In force only: the escalation and the undone decision are not labels.
    assert set(by_post) == {"rec", "fine", "net-0", "net-1", "net-2", "net-3", "net-4"}
    assert by_post["rec"]["labels"] == ["recruitment"] and by_post["rec"]["kind"] == "moderator/hide"
    assert by_post["fine"]["labels"] == [] and by_post["fine"]["verdicts"] == dict.fromkeys(LABELS, "clear")
    assert all(by_post[f"net-{i}"]["labels"] == ["hard_sell", "fake_proof"] for i in range(5))
    assert by_post["rec"]["text"] == "招募代理，宝妈在家月入过万"
    # Ids are keyed hashes: stable, not the raw ids, and notes are never exported.
    salt = (tmp_path / "salt").read_text().strip()
    assert by_post["rec"]["moderator"] == pseudonym(salt, "moderator", people["ann"])
    assert by_post["net-0"]["moderator"] == pseudonym(salt, "moderator", people["ben"])
    assert by_post["rec"]["author_id"] == pseudonym(salt, "author", "m1") != "m1"
    raw = (out / EXPORT_FILE).read_text("utf-8")
    assert "ladder" not in raw and "complaint" not in raw and '"ann"' not in raw
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["rows"] == 7 and manifest["normal"] == 1 and manifest["moderators"] == 2
    assert manifest["labelled"] == {"hard_sell": 5, "recruitment": 1, "fake_proof": 5}
    # The same salt gives the same pseudonyms again.
    again = export_decisions(store.url, tmp_path / "again", salt=salt)
    assert again.sha256 == manifest["sha256"]


def test_export_then_build_puts_moderator_labels_into_train(tmp_path: Path) -> None:
    with migrated_store("sqlite", tmp_path) as store:
        _decide_a_day(store, tmp_path)
        out = tmp_path / "decisions"
        summary = export_decisions(store.url, out, salt=SALT)
    build = build_with_plan(tmp_path / "build", TINY, size="tiny", seed=5, extra_sources=[out])
    train = load_build(build)["train"]
    added = train.filter(lambda r: r["source"] == "moderator")
    assert added.num_rows == summary.rows == 7
    texts = dict(zip(added["text"], added["labels"], strict=True))
    assert texts["招募代理，宝妈在家月入过万"] == ["recruitment"]
    assert texts["招募代理？宝妈群里月入过万的都是骗子"] == []
    assert added.filter(lambda r: r["fake_proof"] == 1).num_rows == 5  # the cluster, one row per copy
    manifest = json.loads((build / "manifest.json").read_text())
    assert manifest["extra_sources"] == [str(out)]
    assert manifest["splits"]["train"]["sources"]["moderator"] == 7
    # The model card built on this data says how many moderator labels it learned from.
    assert moderator_rows(manifest) == 7
    assert moderator_rows(json.loads((build / "manifest.json").read_text()) | {"splits": {}}) == 0


@pytest.mark.slow
def test_cli_round_trip_export_decisions_then_data_build_small(tmp_path: Path) -> None:
    """The two verbs exactly as a person runs them (the small build takes minutes on 2 cores)."""
    with migrated_store("sqlite", tmp_path) as store:
        _decide_a_day(store, tmp_path)
        url = store.url
    runner = CliRunner()
    out = tmp_path / "decisions"
    exported = runner.invoke(
        data_app,
        ["export-decisions", "--out", str(out), "--database-url", url, "--salt-file", str(tmp_path / "s")],
    )
    assert exported.exit_code == 0, exported.output
    built = runner.invoke(
        data_app, ["build", "--size", "small", "--out", str(tmp_path / "b"), "--extra", str(out)]
    )
    assert built.exit_code == 0, built.output
    train = load_build(tmp_path / "b")["train"]
    assert train.filter(lambda r: r["source"] == "moderator").num_rows == 7


def test_export_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    empty.ping()
    empty.dispose()
    missing = runner.invoke(
        data_app,
        [
            "export-decisions",
            "--out",
            str(tmp_path / "o"),
            "--database-url",
            f"sqlite:///{tmp_path / 'empty.db'}",
            "--salt-file",
            str(tmp_path / "salt"),
        ],
    )
    assert missing.exit_code == 2 and "no 'decisions' table" in missing.stderr
    assert missing.stderr.strip().count("\n") == 0
    bad_since = runner.invoke(
        data_app, ["export-decisions", "--out", str(tmp_path / "o"), "--since", "yesterday"]
    )
    assert bad_since.exit_code == 2 and "--since" in bad_since.stderr
    with pytest.raises(ValueError, match="'salt'"):
        export_decisions(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path / "o", salt="short")
