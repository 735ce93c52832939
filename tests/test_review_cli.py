"""``feedguard users ...``: moderator accounts from the command line (the only way to make the first admin)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from support.review_fixtures import fast_argon2  # noqa: F401 (a fixture, used by pytestmark)
from typer.testing import CliRunner

from serve.review.cli import app
from serve.review.tables import AuditEntry, Moderator
from serve.store.db import Store

pytestmark = pytest.mark.usefixtures("fast_argon2")
PASSWORD = "a long enough password\n"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"FEEDGUARD_HOME": str(tmp_path), "FEEDGUARD_DATABASE_URL": "", "FEEDGUARD_CONFIG": ""}


def _run(env: dict[str, str], *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=stdin, env=env)


def test_add_list_disable_enable_and_set_password(env: dict[str, str], tmp_path: Path) -> None:
    added = _run(env, "add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert added.exit_code == 0, added.output
    assert _run(env, "add", "mia", "--password-stdin", stdin=PASSWORD).exit_code == 0
    listed = _run(env, "list")
    assert (
        listed.exit_code == 0
        and "root\tadmin\tactive" in listed.output
        and "mia\tmoderator\tactive" in listed.output
    )
    assert _run(env, "disable", "mia").exit_code == 0
    assert "mia\tmoderator\tdisabled" in _run(env, "list").output
    assert _run(env, "enable", "mia").exit_code == 0
    assert (
        _run(env, "set-password", "mia", "--password-stdin", stdin="another long password\n").exit_code == 0
    )
    store = Store(f"sqlite:///{tmp_path / 'feedguard.db'}")
    try:
        with store.session() as session:
            hashes = {m.username: m.password_hash for m in session.execute(select(Moderator)).scalars()}
            events = [e.event for e in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
    finally:
        store.dispose()
    assert all(h.startswith("$argon2id$") for h in hashes.values())
    assert events == [
        "account_created",
        "account_created",
        "account_disabled",
        "account_enabled",
        "password_set",
    ]


def test_interactive_prompt_asks_twice(env: dict[str, str]) -> None:
    same = _run(env, "add", "lee", stdin="a long enough password\na long enough password\n")
    assert same.exit_code == 0, same.output
    differ = _run(env, "add", "kai", stdin="a long enough password\nsomething else entirely\n")
    assert differ.exit_code == 2 and "differ" in differ.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "needle"),
    [
        (("add", "Bad Name", "--password-stdin"), PASSWORD, "'username'"),
        (("add", "ok_name", "--role", "root", "--password-stdin"), PASSWORD, "'role'"),
        (("add", "ok_name", "--password-stdin"), "short\n", "at least 12 characters"),
        (("add", "ok_name", "--password-stdin"), "", "no password"),
        (("disable", "ghost"), None, "names no account"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    env: dict[str, str], args: tuple[str, ...], stdin: str | None, needle: str
) -> None:
    result = _run(env, *args, stdin=stdin)
    assert result.exit_code == 2, result.output
    assert needle in result.stderr and result.stderr.strip().count("\n") == 0


def test_duplicate_names_are_refused(env: dict[str, str]) -> None:
    assert _run(env, "add", "sam", "--password-stdin", stdin=PASSWORD).exit_code == 0
    again = _run(env, "add", "sam", "--password-stdin", stdin=PASSWORD)
    assert again.exit_code == 2 and "existing account" in again.stderr


def test_every_verb_has_help() -> None:
    for verb in ("add", "list", "disable", "enable", "set-password"):
        result = CliRunner().invoke(app, [verb, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
