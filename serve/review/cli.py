"""``feedguard users ...``: moderator accounts for the review page (the lead wires ``app`` in as ``users``).

The first admin can only be made here (the web page needs an admin to add accounts). Passwords
are read from a hidden prompt, or from stdin with ``--password-stdin`` (for scripts), never from
the command line, where they would sit in the shell history and the process list. The store is
the service's (``$FEEDGUARD_HOME`` or ``FEEDGUARD_DATABASE_URL``), migrated first if needed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

app = typer.Typer(
    help="Manage moderator accounts of the review page.", no_args_is_help=True, add_completion=False
)
T = TypeVar("T")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@contextmanager
def _store() -> Iterator[tuple[object, int]]:
    from serve.settings import Settings
    from serve.store.db import Store

    try:
        settings = Settings()
    except (ValidationError, ValueError) as err:
        _fail(f"settings: {str(err).splitlines()[0]}")
        raise  # unreachable: _fail exits
    store = Store(settings.sqlalchemy_url)
    try:
        store.migrate()
        yield store, settings.review.min_password_chars
    finally:
        store.dispose()


def _run(fn: Callable[[Session, int], T]) -> T:
    """Run ``fn`` in one write transaction; bad input and store errors exit 2 with one line."""
    try:
        with _store() as (store, min_chars), store.write() as session:  # type: ignore[attr-defined]
            return fn(session, min_chars)
    except ValueError as err:
        _fail(str(err))
    except SQLAlchemyError as err:
        _fail(
            f"the store could not be used ({type(err).__name__}); check FEEDGUARD_HOME / FEEDGUARD_DATABASE_URL"
        )
    raise AssertionError("unreachable")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            _fail("--password-stdin: no password on standard input")
        return value
    first = typer.prompt("Password", hide_input=True)
    second = typer.prompt("Repeat the password", hide_input=True)
    if first != second:
        _fail("the two passwords differ")
    return first


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Lower-case user name: letters, digits, '_', '.', '-'.")],
    role: Annotated[
        str, typer.Option(help="'moderator' (decides) or 'admin' (also accounts, audit log).")
    ] = ("moderator"),
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Create a moderator account (passwords are stored as argon2id hashes)."""
    from serve.review.accounts import check_role, check_username, create_moderator

    try:
        check_username(username)
        check_role(role)
    except ValueError as err:
        _fail(str(err))
    password = _read_password(password_stdin)

    def create(session: Session, min_chars: int) -> None:
        create_moderator(session, username, password, role, min_password_chars=min_chars)

    _run(create)
    typer.echo(f"added {role} {username!r}")


@app.command("list")
def list_users() -> None:
    """List accounts: name, role, active, last login."""
    from serve.review.accounts import list_moderators

    def rows(session: Session, _min: int) -> list[tuple[str, str, bool, str]]:
        return [
            (m.username, m.role, m.active, m.last_login_at.isoformat() if m.last_login_at else "never")
            for m in list_moderators(session)
        ]

    for name, role, active, last in _run(rows):
        typer.echo(f"{name}\t{role}\t{'active' if active else 'disabled'}\tlast login {last}")


@app.command("disable")
def disable(
    username: Annotated[str, typer.Argument(help="The account to disable (its sessions end).")],
) -> None:
    """Disable an account; it can no longer log in and its open sessions stop working."""
    from serve.review.accounts import set_active

    _run(lambda session, _min: set_active(session, username, False))
    typer.echo(f"disabled {username!r}")


@app.command("enable")
def enable(username: Annotated[str, typer.Argument(help="The account to enable again.")]) -> None:
    """Enable a disabled account."""
    from serve.review.accounts import set_active

    _run(lambda session, _min: set_active(session, username, True))
    typer.echo(f"enabled {username!r}")


@app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument(help="The account whose password to replace.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Replace an account's password."""
    from serve.review.accounts import set_password as replace

    password = _read_password(password_stdin)
    _run(lambda session, min_chars: replace(session, username, password, min_password_chars=min_chars))
    typer.echo(f"password set for {username!r}")
