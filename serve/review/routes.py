"""``/review``: the moderators' pages, server-rendered with Jinja2 (the JSON API is :mod:`serve.review.api`).

Handlers stay thin: they read the session, check the CSRF token (:mod:`serve.review.web`) and
call :mod:`queue`, :mod:`decisions`, :mod:`accounts` or :mod:`stats` inside one store
transaction. A decision is acknowledged (the redirect to the next item) only after its
transaction committed. Forms work without JavaScript; ``review.js`` adds the keyboard.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from sqlalchemy.orm import Session

from model.labels import LABELS
from serve.review import accounts, audit, decisions, queue, views
from serve.review.api import router as api_router
from serve.review.decisions import DecisionInput, NothingToUndo, ReviewConflict
from serve.review.sessions import (
    COOKIE_PATH,
    CSRF_FIELD,
    LOGIN_COOKIE,
    LOGIN_FORM_SECONDS,
    SESSION_COOKIE,
    Login,
)
from serve.review.tables import DECISION_ACTIONS, ROLES, Decision, PostImage
from serve.review.web import (
    STATIC_DIR,
    LoginRequired,
    Me,
    ReviewError,
    checked_form,
    db,
    login_required_handler,
    open_item,
    page,
    parse_filters,
    redirect,
    require_admin,
    review_error_handler,
    safe_next,
    set_cookie,
    state_of,
    stats_data,
    thresholds_of,
    url_with,
)
from serve.routes.deps import ServiceDep
from serve.settings import Settings
from serve.store.tables import ReviewItem

router = APIRouter(prefix="/review", include_in_schema=False)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the review pages, their static files and error handling to the service's app."""
    if settings.environment == "production" and settings.review.secret_key is None:
        raise ValueError("review.secret_key must be set when environment is 'production'")
    if settings.environment == "production" and settings.review.cookie_secure is False:
        raise ValueError("review.cookie_secure must not be false when environment is 'production'")
    app.state.review = None
    app.include_router(router)
    app.include_router(api_router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.add_exception_handler(LoginRequired, login_required_handler)
    app.add_exception_handler(ReviewError, review_error_handler)


# ---------------------------------------------------------------------- login / logout
@router.get("/login")
async def login_form(request: Request, service: ServiceDep, next: str | None = None) -> Response:
    state = state_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        login = await db(service, "review session", lambda s: state.sessions.find(s, cookie), write=False)
        if login is not None:
            return redirect(safe_next(next))
    form_cookie, token = state.sessions.login_form()
    response = page(
        request, "review/login.html", {"login_token": token, "next": safe_next(next), "error": None}
    )
    set_cookie(response, state, LOGIN_COOKIE, form_cookie, LOGIN_FORM_SECONDS)
    return response


@router.post("/login")
async def login_submit(request: Request, service: ServiceDep) -> Response:
    state = state_of(request)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not state.sessions.check_login_form(request.cookies.get(LOGIN_COOKIE), values.get(CSRF_FIELD)):
        raise ReviewError(
            403, "csrf", "The login form expired or was not sent by this site; reload it and retry."
        )
    username = values.get("username", "")
    password = values.get("password", "")
    config = state.config

    def attempt(session: Session) -> tuple[accounts.LoginOutcome, str | None]:
        outcome = accounts.authenticate(
            session,
            username,
            password,
            max_failures=config.login_max_failures,
            window=timedelta(minutes=config.login_window_minutes),
        )
        if outcome.moderator is None:
            return outcome, None
        cookie, login = state.sessions.start(session, outcome.moderator)
        audit.append(
            session, login.account, "login", "moderator", login.account.username, before=None, after=None
        )
        return outcome, cookie

    outcome, cookie = await db(service, "review login", attempt)
    target = safe_next(values.get("next"))
    if cookie is None:
        form_cookie, token = state.sessions.login_form()
        response = page(
            request,
            "review/login.html",
            {"login_token": token, "next": target, "error": outcome.message, "username": username[:64]},
            status=429 if outcome.throttled else 401,
        )
        set_cookie(response, state, LOGIN_COOKIE, form_cookie, LOGIN_FORM_SECONDS)
        return response
    response = redirect(target)
    set_cookie(response, state, SESSION_COOKIE, cookie, int(config.session_hours * 3600))
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/logout")
async def logout(request: Request, service: ServiceDep, login: Me) -> Response:
    await checked_form(request, login)
    state = state_of(request)

    def end(session: Session) -> None:
        state.sessions.end(session, login)
        queue.release_others(session, login.account.id, keep=-1)  # give back what this moderator held
        audit.append(
            session, login.account, "logout", "moderator", login.account.username, before=None, after=None
        )

    await db(service, "review logout", end)
    response = redirect("/review/login?notice=logged_out")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


# ---------------------------------------------------------------------- queue
@router.get("")
async def queue_page(
    request: Request,
    service: ServiceDep,
    login: Me,
    view: str | None = None,
    label: str | None = None,
    reason: str | None = None,
    page_number: Annotated[int, Query(ge=1, le=10_000, alias="page")] = 1,
) -> Response:
    filters = parse_filters(view, label, reason)
    size = state_of(request).config.page_size

    def read(session: Session) -> tuple[queue.Counters, list[queue.QueueRow]]:
        return (
            queue.counters(session, login.account.id, filters),
            queue.list_items(session, login.account.id, filters, limit=size, offset=(page_number - 1) * size),
        )

    counters, rows = await db(service, "review queue", read, write=False)
    return page(
        request,
        "review/queue.html",
        {
            "filters": filters,
            "counters": counters,
            "rows": rows,
            "page": page_number,
            "page_size": size,
            "next_url": url_with("/review/next", **filters.query()),
        },
        login=login,
    )


@router.get("/next")
async def next_page(
    request: Request,
    service: ServiceDep,
    login: Me,
    view: str | None = None,
    label: str | None = None,
    reason: str | None = None,
    after: int | None = None,
    dir: str = "next",
    saved: str | None = None,
) -> Response:
    """Claim the next (or previous) item and go there; the item skipped past is given back."""
    filters = parse_filters(view, label, reason)
    lease = state_of(request).lease
    backwards = dir == "prev"

    def move(session: Session) -> tuple[int | None, str | None]:
        current = session.get(ReviewItem, after) if after is not None else None
        if current is not None:
            queue.release(session, [current.id], login.account.id)
        found = queue.next_item(session, login.account.id, filters, lease, after=current, backwards=backwards)
        if found is not None:
            queue.release_others(session, login.account.id, keep=found.id)
            return found.id, None
        if backwards:
            batch = decisions.last_batch(session, login.account.id)
            if batch:
                return batch[0].review_item_id, None
        return None, "queue_empty"

    item_id, notice = await db(service, "review next", move)
    if item_id is None:
        return redirect(url_with("/review", notice=notice, **filters.query()))
    return redirect(url_with(f"/review/items/{item_id}", saved=saved, **filters.query()))


def _saved_summary(session: Session, batch_id: str | None) -> dict[str, Any] | None:
    if not batch_id:
        return None
    rows = list(session.execute(select(Decision).where(Decision.batch_id == batch_id)).scalars())
    if not rows:
        return None
    first = rows[0]
    return {
        "count": len(rows),
        "item_id": first.review_item_id,
        "action": first.action,
        "confirmed": [label for label in LABELS if first.verdicts.get(label) == "confirm"],
        "undone": first.undone_at is not None,
    }


@router.get("/items/{item_id}")
async def item_page(
    request: Request,
    service: ServiceDep,
    login: Me,
    item_id: int,
    view: str | None = None,
    label: str | None = None,
    reason: str | None = None,
    saved: str | None = None,
    undone: str | None = None,
) -> Response:
    filters = parse_filters(view, label, reason)
    state = state_of(request)
    thresholds = thresholds_of(service)

    def read(session: Session) -> tuple[views.ItemView, queue.Counters, Any, Any]:
        item_view = open_item(session, item_id, login, state, thresholds)
        return (
            item_view,
            queue.counters(session, login.account.id, filters),
            _saved_summary(session, saved),
            _saved_summary(session, undone),
        )

    item_view, counters, saved_info, undone_info = await db(service, "review item", read)
    return _item_response(request, login, item_view, counters, filters, saved_info, undone_info)


def _item_response(
    request: Request,
    login: Login,
    item_view: views.ItemView,
    counters: queue.Counters,
    filters: queue.Filters,
    saved_info: Any = None,
    undone_info: Any = None,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    item_id = item_view.item.id
    return page(
        request,
        "review/item.html",
        {
            "v": item_view,
            "counters": counters,
            "filters": filters,
            "query": filters.query(),
            "saved": saved_info,
            "undone": undone_info,
            "error": error,
            "actions": DECISION_ACTIONS,
            "next_url": url_with("/review/next", after=item_id, **filters.query()),
            "prev_url": url_with("/review/next", after=item_id, dir="prev", **filters.query()),
            "decidable": item_view.claim is not None and item_view.claim.ok,
        },
        login=login,
        status=status,
    )


def _choice_from_form(values: dict[str, str]) -> tuple[DecisionInput, str]:
    """(the decision, its scope) from the item form's fields and the button pressed (``intent``)."""
    intent = values.get("intent", "decide")
    note = values.get("note")
    verdicts = {label: values.get(f"verdict_{label}", "clear") for label in LABELS}
    if intent == "clear":
        return DecisionInput.clear_all(note), "item"
    if intent == "escalate":
        return DecisionInput(verdicts, "escalate", note), "item"
    if intent not in ("decide", "cluster"):
        raise ValueError(f"The 'intent' field must be decide, clear, escalate or cluster; got {intent!r}.")
    if not any(v == "confirm" for v in verdicts.values()):
        raise ValueError("No label is confirmed: pick one with 1, 2 or 3 (or clear the post with x).")
    action = values.get("action") or decisions.suggested_action(
        [k for k, v in verdicts.items() if v == "confirm"]
    )
    return DecisionInput(verdicts, action, note), "cluster" if intent == "cluster" else "item"


@router.post("/items/{item_id}/decision")
async def decide_form(request: Request, service: ServiceDep, login: Me, item_id: int) -> Response:
    values = await checked_form(request, login)
    filters = parse_filters(values.get("view"), values.get("label"), values.get("reason"))
    state = state_of(request)
    thresholds = thresholds_of(service)
    try:
        choice, scope = _choice_from_form(values)
        problem: tuple[int, str] | None = None
    except ValueError as err:
        choice, scope, problem = None, "item", (422, str(err))  # type: ignore[assignment]

    def write(session: Session) -> Any:
        if problem is None:
            try:
                return decisions.decide(
                    session, item_id, login.account, choice, lease=state.lease, scope=scope
                )
            except ReviewConflict as err:
                failure: tuple[int, str] = (409, str(err))
            except ValueError as err:
                failure = (422, str(err))
            except LookupError as err:
                raise ReviewError(404, "not_found", str(err)) from err
        else:
            failure = problem
        # Not decided: show the item again with the reason (nothing was written).
        return (
            failure,
            open_item(session, item_id, login, state, thresholds),
            queue.counters(session, login.account.id, filters),
        )

    result = await db(service, "review decision", write)
    if isinstance(result, decisions.Outcome):
        return redirect(url_with("/review/next", after=item_id, saved=result.batch_id, **filters.query()))
    (status, message), item_view, counters = result
    return _item_response(request, login, item_view, counters, filters, error=message, status=status)


@router.post("/undo")
async def undo_form(request: Request, service: ServiceDep, login: Me) -> Response:
    values = await checked_form(request, login)
    filters = parse_filters(values.get("view"), values.get("label"), values.get("reason"))
    lease = state_of(request).lease

    def write(session: Session) -> decisions.Outcome | None:
        try:
            return decisions.undo_last(session, login.account, lease=lease)
        except NothingToUndo:
            return None

    outcome = await db(service, "review undo", write)
    if outcome is None or not outcome.decided:
        return redirect(url_with("/review", notice="nothing_to_undo", **filters.query()))
    return redirect(
        url_with(f"/review/items/{outcome.decided[0]}", undone=outcome.batch_id, **filters.query())
    )


@router.get("/images/{post_id}/{position}")
async def image(service: ServiceDep, login: Me, post_id: str, position: int) -> Response:
    def read(session: Session) -> tuple[bytes, str] | None:
        row = session.get(PostImage, (post_id, position))
        return (row.thumbnail, row.mime) if row is not None else None

    found = await db(service, "review image", read, write=False)
    if found is None:
        raise ReviewError(404, "not_found", f"No thumbnail {position} for post {post_id!r}.")
    return Response(
        content=found[0],
        media_type=found[1],
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


# ---------------------------------------------------------------------- stats, audit, accounts


@router.get("/stats")
async def stats_page(request: Request, service: ServiceDep, login: Me) -> Response:
    config = state_of(request).config
    data = await db(service, "review stats", lambda s: stats_data(s, config), write=False)
    peak = max((d.total for d in data["days"]), default=0)
    return page(request, "review/stats.html", {**data, "peak": peak}, login=login)


@router.get("/audit")
async def audit_page(
    request: Request,
    service: ServiceDep,
    login: Me,
    event: str | None = None,
    actor: str | None = None,
    target: str | None = None,
) -> Response:
    require_admin(login)
    rows = await db(
        service,
        "review audit",
        lambda s: audit.recent(
            s, limit=300, event=event or None, actor=actor or None, target_id=target or None
        ),
        write=False,
    )
    return page(
        request,
        "review/audit.html",
        {
            "rows": rows,
            "events": audit.EVENTS,
            "event": event or "",
            "actor": actor or "",
            "target": target or "",
        },
        login=login,
    )


@router.get("/accounts")
async def accounts_page(request: Request, service: ServiceDep, login: Me) -> Response:
    require_admin(login)
    rows = await db(service, "review accounts", accounts.list_moderators, write=False)
    return page(request, "review/accounts.html", {"rows": rows, "roles": ROLES, "error": None}, login=login)


@router.post("/accounts")
async def accounts_create(request: Request, service: ServiceDep, login: Me) -> Response:
    require_admin(login)
    values = await checked_form(request, login)
    min_chars = state_of(request).config.min_password_chars

    def write(session: Session) -> str | None:
        try:
            accounts.create_moderator(
                session,
                values.get("username", "").strip().lower(),
                values.get("password", ""),
                values.get("role", "moderator"),
                min_password_chars=min_chars,
                created_by=login.account,
            )
        except ValueError as err:
            return str(err)
        return None

    error = await db(service, "review account create", write)
    if error is None:
        return redirect("/review/accounts?notice=account_saved")
    rows = await db(service, "review accounts", accounts.list_moderators, write=False)
    return page(
        request,
        "review/accounts.html",
        {"rows": rows, "roles": ROLES, "error": error},
        login=login,
        status=422,
    )


@router.post("/accounts/{username}/active")
async def accounts_active(request: Request, service: ServiceDep, login: Me, username: str) -> Response:
    require_admin(login)
    values = await checked_form(request, login)
    active = values.get("active") == "1"
    if username == login.account.username and not active:
        raise ReviewError(422, "bad_input", "You cannot disable your own account.")

    def write(session: Session) -> None:
        try:
            accounts.set_active(session, username, active, by=login.account)
        except ValueError as err:
            raise ReviewError(404, "not_found", str(err)) from err

    await db(service, "review account active", write)
    return redirect("/review/accounts?notice=account_saved")
