"""``feedguard serve``: run the scoring service (the lead wires this ``app`` into ``feedguard``).

Configuration comes from ``$FEEDGUARD_HOME/config.toml`` (or ``$FEEDGUARD_CONFIG``) and
``FEEDGUARD_*`` environment variables (see :mod:`serve.settings`). In development a local API key
with every scope is generated under ``$FEEDGUARD_HOME`` and printed here, once per start, on the
terminal only (never to the log).
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from serve.auth import ensure_local_key
from serve.settings import Settings

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")

app = typer.Typer(help="Run the FeedGuard scoring service.", no_args_is_help=True, add_completion=False)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default from settings: 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default from settings: 8080).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Start the HTTP service: POST /v1/score, preferences, feed filter, reports, /metrics."""
    import uvicorn

    from serve.app import create_app

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as err:
        first = err.errors()[0]
        _fail(f"setting {'.'.join(str(p) for p in first['loc']) or '?'}: {first['msg']}")
        return
    except ValueError as err:
        _fail(str(err))
        return
    if log_level.lower() not in LOG_LEVELS:
        _fail(f"--log-level must be one of {', '.join(LOG_LEVELS)}; got {log_level!r}")
    from model.bundle import MANIFEST, RELEASE_DIR

    release = settings.release_dir or RELEASE_DIR
    if not (release / MANIFEST).is_file():
        _fail(
            f"no model release in {release} (no {MANIFEST}); run `feedguard model build` or set FEEDGUARD_RELEASE_DIR"
        )
    settings.home.mkdir(parents=True, exist_ok=True)
    if settings.local_key:
        key = ensure_local_key(settings.local_key_path)
        typer.echo(f"FeedGuard home: {settings.home.resolve()}")
        typer.echo(f"Local API key (all scopes; also in {settings.local_key_path}): {key}")
        sample = '{"posts": [{"post_id": "p1", "text": "招代理，在家就能做，加我薇信"}]}'
        typer.echo(
            f"Try: curl -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json'"
            f" -d '{sample}' http://{settings.host}:{settings.port}/v1/score"
        )
    logging.basicConfig(
        level=log_level.upper() if log_level.lower() != "trace" else "DEBUG",
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        application = create_app(settings)
    except ValueError as err:
        _fail(str(err))
        return
    uvicorn.run(
        application, host=settings.host, port=settings.port, log_level=log_level.lower(), access_log=False
    )
