"""Domain exceptions and the one place that turns them into HTTP responses.

Why one handler: every error the service returns has the same JSON shape,
``{"error": code, "message": "...", "field": "posts[0].text" | null}``, so the feed team can
log and alert on ``error`` and a person can read ``message``. Handlers and the model raise
domain exceptions (or ``ValueError`` from ``model/``); they never build error responses.
Unexpected exceptions are not caught here: they are bugs, and surface as 500 with a log line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("feedguard.serve")
_PATH = re.compile(r"[A-Za-z_]\w*(\[\d+\])?(\.[A-Za-z_]\w*(\[\d+\])?)*")


class ServiceError(Exception):
    """Base of the service's domain errors: a status code, a stable code, a message, maybe a field."""

    status_code = 500
    code = "internal"

    def __init__(
        self, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers or {}


class BadInput(ServiceError):
    status_code = 422
    code = "bad_input"


class MalformedBody(ServiceError):
    status_code = 400
    code = "malformed_body"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class Unauthorized(ServiceError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="feedguard"'})


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status_code = 415
    code = "unsupported_media_type"


class Overloaded(ServiceError):
    """The scoring queue is full: the caller should retry after ``retry_after_s`` seconds."""

    status_code = 503
    code = "overloaded"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


class NotReady(ServiceError):
    """A dependency (model, store) is not available right now."""

    status_code = 503
    code = "not_ready"

    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "field": field}


def field_path(loc: Sequence[Any]) -> str:
    """``("body", "posts", 0, "text")`` -> ``posts[0].text`` (the name a caller recognises)."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _validation_message(err: dict[str, Any]) -> tuple[str, str]:
    field = field_path(err.get("loc", ()))
    if err.get("type") == "json_invalid":
        return (
            "body",
            f"body: the request body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})",
        )
    msg = str(err.get("msg", "invalid value"))
    # Our own validators raise "Value error, <message>"; the prefix tells a caller nothing.
    msg = msg.removeprefix("Value error, ")
    # A list validator can name the exact element ("posts[2].post_id 'x' repeats ..."): use it.
    first_word = msg.split(" ", 1)[0]
    if first_word.startswith(field) and _PATH.fullmatch(first_word):
        return first_word, msg
    return field, f"{field}: {msg}"


def install_error_handlers(app: FastAPI) -> None:
    """Map every domain exception (and FastAPI's own validation errors) to one JSON shape."""

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        if exc.status_code >= 500:
            log.warning("%s: %s", exc.code, exc.message)
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        fields_messages = [_validation_message(e) for e in errors[:20]]
        field = fields_messages[0][0] if fields_messages else None
        message = "; ".join(m for _f, m in fields_messages) or "invalid request"
        if field == "body" and errors and errors[0].get("type") == "json_invalid":
            return JSONResponse(error_body("malformed_body", message, "body"), status_code=400)
        return JSONResponse(error_body("bad_input", message, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
