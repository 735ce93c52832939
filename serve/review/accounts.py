"""Moderator accounts: argon2id password hashes, roles, and the login check.

Why argon2 (argon2-cffi's defaults, RFC 9106's low-memory profile): a leaked ``moderators``
table must not hand out passwords. Hashes are upgraded on login when the parameters change
(``check_needs_rehash``). A login for an unknown user name still runs one verification against
a dummy hash, so the response time does not reveal which names exist. Repeated failures for one
name are throttled (counted from the audit log, so the count is shared by every replica).
Accounts are never deleted, only disabled: decisions and the audit log keep pointing at them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from serve.review.audit import append as audit
from serve.review.tables import ROLES, AuditEntry, Moderator
from serve.store.tables import utcnow

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.\-]{1,62}[a-z0-9]$")
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown names (made once, on first use, not at import)."""
    return _hasher.hash("feedguard-dummy-password-for-timing")


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a login attempt: the account, or why not (the failure is already audited).

    Not an exception on purpose: the failed attempt's audit row must be committed, and raising
    inside the store's transaction would roll it back.
    """

    moderator: Moderator | None
    message: str = ""
    throttled: bool = False


@dataclass(frozen=True)
class Account:
    """What the pages need to know about the moderator in front of them."""

    id: int
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def as_account(row: Moderator) -> Account:
    return Account(id=row.id, username=row.username, role=row.role)


def check_username(username: str) -> str:
    """Lower-case names of 3-64 characters: letters, digits, ``_ . -``; raises ``ValueError``."""
    if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
        raise ValueError(
            "The 'username' parameter must be 3-64 lower-case letters, digits, '_', '.' or '-'"
            f" (starting and ending with a letter or digit); got {username!r} instead."
        )
    return username


def check_password(password: str, min_chars: int) -> str:
    if not isinstance(password, str) or len(password) < min_chars:
        got = f"{len(password)} characters" if isinstance(password, str) else type(password).__name__
        raise ValueError(
            f"The 'password' parameter must be at least {min_chars} characters; got {got} instead."
        )
    if password.strip() != password or "\x00" in password:
        raise ValueError("The 'password' parameter must not start or end with whitespace or contain NUL.")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"The 'role' parameter must be one of {', '.join(ROLES)}; got {role!r} instead.")
    return role


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def get_by_name(session: Session, username: str) -> Moderator | None:
    return session.execute(select(Moderator).where(Moderator.username == username)).scalar_one_or_none()


def create_moderator(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    min_password_chars: int,
    created_by: Account | None = None,
) -> Moderator:
    """Add an account (``ValueError`` for a bad or taken name, a short password or an unknown role)."""
    check_username(username)
    check_password(password, min_password_chars)
    check_role(role)
    if get_by_name(session, username) is not None:
        raise ValueError(f"The 'username' parameter names an existing account; got {username!r}.")
    row = Moderator(username=username, password_hash=hash_password(password), role=role, active=True)
    session.add(row)
    session.flush()
    audit(
        session,
        created_by,
        "account_created",
        "moderator",
        username,
        before=None,
        after={"username": username, "role": role, "active": True},
        detail=None if created_by else "feedguard users add",
    )
    return row


def set_active(session: Session, username: str, active: bool, *, by: Account | None = None) -> Moderator:
    """Enable or disable an account; disabling ends its sessions on their next request."""
    row = get_by_name(session, username)
    if row is None:
        raise ValueError(f"The 'username' parameter names no account; got {username!r}.")
    before = {"active": row.active}
    row.active = bool(active)
    audit(
        session,
        by,
        "account_enabled" if active else "account_disabled",
        "moderator",
        username,
        before=before,
        after={"active": row.active},
    )
    return row


def set_password(
    session: Session, username: str, password: str, *, min_password_chars: int, by: Account | None = None
) -> Moderator:
    row = get_by_name(session, username)
    if row is None:
        raise ValueError(f"The 'username' parameter names no account; got {username!r}.")
    check_password(password, min_password_chars)
    row.password_hash = hash_password(password)
    audit(session, by, "password_set", "moderator", username, before=None, after=None)
    return row


def list_moderators(session: Session) -> list[Moderator]:
    return list(session.execute(select(Moderator).order_by(Moderator.username)).scalars())


def recent_failures(session: Session, username: str, window: timedelta) -> int:
    since = utcnow() - window
    return int(
        session.execute(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.event == "login_failed",
                AuditEntry.target_id == username,
                AuditEntry.at >= since,
            )
        ).scalar_one()
    )


def authenticate(
    session: Session, username: str, password: str, *, max_failures: int, window: timedelta
) -> LoginOutcome:
    """Check a login. Every failure is written to the audit log (the throttle counts those rows);
    the message never says whether the name or the password was wrong."""
    name = (username or "").strip().lower()
    if recent_failures(session, name, window) >= max_failures:
        minutes = max(1, int(window.total_seconds() // 60))
        return LoginOutcome(
            None, f"Too many failed logins for this account; try again in {minutes} minutes.", True
        )
    row = get_by_name(session, name) if USERNAME_PATTERN.fullmatch(name) else None
    try:
        ok = _hasher.verify(row.password_hash if row is not None else _dummy_hash(), password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if row is None or not ok or not row.active:
        detail = "disabled account" if row is not None and ok else "wrong name or password"
        audit(
            session,
            None,
            "login_failed",
            "moderator",
            name[:64] or "?",
            before=None,
            after=None,
            detail=detail,
        )
        return LoginOutcome(None, "Wrong user name or password.")
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = hash_password(password)
    row.last_login_at = utcnow()
    return LoginOutcome(row)
