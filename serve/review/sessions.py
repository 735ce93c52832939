"""Moderator sessions (signed cookies backed by the store) and CSRF tokens.

The cookie holds a random token signed with itsdangerous; the store keeps only its SHA-256,
with an expiry and a revocation stamp. So a stolen database does not yield live cookies, a
forged cookie fails the signature before any query, and logout or disabling an account ends a
session everywhere at once. Each login makes a new token (no session fixation).

CSRF: every form and every state-changing API call carries a token derived from the session
(an itsdangerous signature over the session's digest, salted apart from the cookie), checked on
each POST. The login form, which has no session yet, gets a double-submit token bound to a
short-lived pre-login cookie. Cookies are ``HttpOnly``, ``SameSite=Lax``, scoped to ``/review``,
and ``Secure`` outside development.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from model.secret_file import ensure_secret_file
from serve.review.accounts import Account, as_account
from serve.review.tables import Moderator, ModeratorSession
from serve.store.tables import utcnow

SESSION_COOKIE = "fg_review"
LOGIN_COOKIE = "fg_review_login"
COOKIE_PATH = "/review"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: How long the login form's token is good for.
LOGIN_FORM_SECONDS = 3600


def ensure_secret(path: Path) -> str:
    """The signing secret stored at ``path``, created (mode 0600) on first use (development only)."""
    return ensure_secret_file(path, lambda: secrets.token_urlsafe(48), min_length=32)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Login:
    """A live session: the moderator and the session's digest (what CSRF tokens are bound to)."""

    account: Account
    session_digest: str
    expires_at: datetime


class SessionManager:
    """Signs and checks cookies and CSRF tokens; creates, finds and revokes sessions in the store."""

    def __init__(self, secret: str, *, lifetime: timedelta, secure_cookies: bool) -> None:
        if not isinstance(secret, str) or len(secret) < 32:
            raise ValueError(
                "The 'secret' parameter of SessionManager must be a string of at least 32 characters."
            )
        self.lifetime = lifetime
        self.secure_cookies = secure_cookies
        self._cookie = URLSafeTimedSerializer(secret, salt="feedguard-review-session")
        self._csrf = URLSafeTimedSerializer(secret, salt="feedguard-review-csrf")
        self._login = URLSafeTimedSerializer(secret, salt="feedguard-review-login-csrf")

    # ---------------------------------------------------------------- sessions
    def start(self, session: Session, moderator: Moderator) -> tuple[str, Login]:
        """A new session for ``moderator``: (signed cookie value, the login)."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        row = ModeratorSession(
            token_sha256=_digest(token),
            moderator_id=moderator.id,
            created_at=now,
            expires_at=now + self.lifetime,
        )
        session.add(row)
        session.flush()
        return self._cookie.dumps(token), Login(as_account(moderator), row.token_sha256, row.expires_at)

    def find(self, session: Session, cookie: str | None) -> Login | None:
        """The live session named by a cookie value, or None (bad signature, expired, revoked, disabled)."""
        if not cookie:
            return None
        try:
            token = self._cookie.loads(cookie, max_age=int(self.lifetime.total_seconds()))
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(token, str):
            return None
        row = session.execute(
            select(ModeratorSession, Moderator)
            .join(Moderator, Moderator.id == ModeratorSession.moderator_id)
            .where(ModeratorSession.token_sha256 == _digest(token))
        ).one_or_none()
        if row is None:
            return None
        record, moderator = row
        if record.revoked_at is not None or record.expires_at <= utcnow() or not moderator.active:
            return None
        return Login(as_account(moderator), record.token_sha256, record.expires_at)

    def end(self, session: Session, login: Login) -> None:
        row = session.execute(
            select(ModeratorSession).where(ModeratorSession.token_sha256 == login.session_digest)
        ).scalar_one_or_none()
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()

    # ---------------------------------------------------------------- CSRF
    def csrf_token(self, login: Login) -> str:
        return self._csrf.dumps(login.session_digest[:32])

    def check_csrf(self, login: Login, token: str | None) -> bool:
        if not token:
            return False
        try:
            value = self._csrf.loads(token, max_age=int(self.lifetime.total_seconds()))
        except (BadSignature, SignatureExpired):
            return False
        return isinstance(value, str) and hmac.compare_digest(value, login.session_digest[:32])

    def login_form(self) -> tuple[str, str]:
        """(pre-login cookie value, the login form's CSRF token), bound to each other."""
        nonce = secrets.token_urlsafe(16)
        return self._login.dumps(["cookie", nonce]), self._login.dumps(["form", nonce])

    def check_login_form(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        try:
            kind_c, nonce_c = self._login.loads(cookie, max_age=LOGIN_FORM_SECONDS)
            kind_t, nonce_t = self._login.loads(token, max_age=LOGIN_FORM_SECONDS)
        except (BadSignature, SignatureExpired, TypeError, ValueError):
            return False
        return kind_c == "cookie" and kind_t == "form" and hmac.compare_digest(str(nonce_c), str(nonce_t))
