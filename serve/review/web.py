"""What the review pages and their JSON API share: session and CSRF checks, errors, page rendering.

Nothing under ``/review`` answers without a moderator session (:func:`current_login`); the
service's API keys are never looked at here, so they open nothing. Every POST needs the
session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``), else 403. Store
work runs in one transaction per request through ``Service.with_store`` (a store outage is 503).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from model.labels import LABELS
from serve.errors import error_body
from serve.review import decisions, queue, stats, views
from serve.review.config import ReviewConfig
from serve.review.sessions import (
    COOKIE_PATH,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    Login,
    SessionManager,
    ensure_secret,
)
from serve.routes.deps import Service, ServiceDep
from serve.settings import Settings
from serve.store.tables import ReviewItem

T = TypeVar("T")
HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(HERE.parent / "templates"))
STATIC_DIR = HERE.parent / "static"
API_PREFIX = "/review/api"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
#: Fixed notices a redirect can ask a page to show (never free text from the URL).
NOTICES = {
    "nothing_to_undo": "Nothing to undo: you have no decision in force.",
    "queue_empty": "Nothing left to review with these filters.",
    "logged_out": "You are logged out.",
    "account_saved": "Account saved.",
}


# ---------------------------------------------------------------------- errors
class LoginRequired(Exception):
    """No live moderator session: pages redirect to the login form, the API answers 401."""


class ReviewError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


async def login_required_handler(request: Request, _exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse(
            error_body("unauthorized", "A moderator session is required: log in at /review/login."),
            status_code=401,
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/review"
    return redirect(f"/review/login?{urlencode({'next': target})}")


async def review_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ReviewError)
    if is_api(request):
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)
    return page(
        request, "review/error.html", {"status": exc.status, "message": exc.message}, status=exc.status
    )


# ---------------------------------------------------------------------- state
@dataclass
class ReviewState:
    config: ReviewConfig
    sessions: SessionManager
    zone: ZoneInfo

    @property
    def lease(self) -> timedelta:
        return timedelta(minutes=self.config.lease_minutes)


_state_lock = threading.Lock()


def state_of(request: Request) -> ReviewState:
    state: ReviewState | None = getattr(request.app.state, "review", None)
    if state is not None:
        return state
    with _state_lock:
        state = getattr(request.app.state, "review", None)
        if state is None:
            state = build_state(request.app.state.settings)
            request.app.state.review = state
    return state


def build_state(settings: Settings) -> ReviewState:
    config = settings.review
    secret = (
        config.secret_key.get_secret_value()
        if config.secret_key is not None
        else ensure_secret(settings.home / "review_secret")
    )
    secure = (
        config.cookie_secure if config.cookie_secure is not None else settings.environment == "production"
    )
    manager = SessionManager(secret, lifetime=timedelta(hours=config.session_hours), secure_cookies=secure)
    return ReviewState(config=config, sessions=manager, zone=ZoneInfo(config.display_timezone))


# ---------------------------------------------------------------------- helpers
async def db(service: Service, operation: str, fn: Callable[[Session], T], *, write: bool = True) -> T:
    return await run_in_threadpool(service.with_store, operation, fn, write=write)


async def current_login(request: Request, service: ServiceDep) -> Login:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise LoginRequired()
    state = state_of(request)
    login = await db(service, "review session", lambda s: state.sessions.find(s, cookie), write=False)
    if login is None:
        raise LoginRequired()
    return login


Me = Annotated[Login, Depends(current_login)]


def require_admin(login: Login) -> None:
    if not login.account.is_admin:
        raise ReviewError(403, "forbidden", "Only admins can open this page.")


async def checked_form(request: Request, login: Login) -> dict[str, str]:
    """The posted form, after its CSRF token was checked (403 without a valid one)."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    token = values.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not state_of(request).sessions.check_csrf(login, token):
        raise ReviewError(
            403, "csrf", "The form's security token is missing or stale; reload the page and retry."
        )
    return values


def check_api_csrf(request: Request, login: Login) -> None:
    if not state_of(request).sessions.check_csrf(login, request.headers.get(CSRF_HEADER)):
        raise ReviewError(
            403, "csrf", "The X-CSRF-Token header is missing or stale; GET /review/api/me for one."
        )


def redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(value: str | None) -> str:
    """Only our own pages: a path under /review (no scheme, no host, no //)."""
    if value and value.startswith("/review") and not value.startswith("//") and "\\" not in value:
        return value
    return "/review"


def url_with(path: str, **params: Any) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(clean)}" if clean else path


def parse_filters(view: str | None, label: str | None, reason: str | None) -> queue.Filters:
    try:
        return queue.Filters.parse(view, label, reason)
    except ValueError as err:
        raise ReviewError(422, "bad_input", str(err)) from err


def fmt_time(state: ReviewState) -> Callable[[datetime | None], str]:
    def fmt(value: datetime | None, pattern: str = "%m-%d %H:%M") -> str:
        if value is None:
            return "-"
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(state.zone).strftime(pattern)

    return fmt


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    login: Login | None = None,
    status: int = 200,
) -> Response:
    state = state_of(request)
    ctx = {
        "me": login.account if login is not None else None,
        "csrf": state.sessions.csrf_token(login) if login is not None else None,
        "labels": LABELS,
        "reason_kinds": queue.REASON_KINDS,
        "fmt": fmt_time(state),
        "zone": state.config.display_timezone,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        **context,
    }
    response = TEMPLATES.TemplateResponse(request, template, ctx, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def set_cookie(response: Response, state: ReviewState, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=state.sessions.secure_cookies,
    )


# ---------------------------------------------------------------------- shared by pages and API
def open_item(
    session: Session, item_id: int, login: Login, state: ReviewState, thresholds: Any
) -> views.ItemView:
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise ReviewError(404, "not_found", f"Review item {item_id} does not exist.")
    claim = None
    if item.status in decisions.decidable_statuses(login.account):
        claim = queue.claim(session, item.id, login.account.id, state.lease)
        if claim.ok:
            queue.release_others(session, login.account.id, keep=item.id)
    config = state.config
    view = views.build(
        session,
        item,
        login.account,
        thresholds=thresholds,
        author_posts=config.author_posts,
        cluster_limit=config.cluster_listed,
    )
    view.claim = claim
    return view


def thresholds_of(service: Service) -> Any:
    return service.scorer.policy_.thresholds


def stats_data(session: Session, config: ReviewConfig) -> dict[str, Any]:
    return {
        "days": stats.decisions_per_day(session, days=config.stats_days),
        "agreement": stats.agreement(session),
        "clusters": stats.active_clusters(
            session, days=config.stats_cluster_days, limit=config.stats_clusters
        ),
        "cluster_days": config.stats_cluster_days,
    }
