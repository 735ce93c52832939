"""Moderators' decisions as a labelled dataset: the loop from the review queue back into training.

``feedguard data export-decisions --out DIR`` writes ``DIR/decisions.jsonl`` in the format
``feedguard data build --extra DIR`` reads (``{"text": ..., "labels": [...]}`` plus optional
keys, see data/README.md) and ``DIR/export.json`` (counts and a hash). One row per post: the
decision in force (not undone), escalations left out (an escalation is a question, not a
label). A label is in ``labels`` when the moderator confirmed it; a post with every label
cleared is a labelled *normal* post, which is as valuable: it is usually a hard negative the
model got wrong.

Privacy: moderator and author ids are replaced by keyed hashes (HMAC-SHA256 with a salt kept
under ``$FEEDGUARD_HOME``), stable across exports so rows can be grouped, not reversible
without the salt. Notes are not exported (free text may name people).

This module reads the service's store with plain SQL over the documented tables (``decisions``,
``posts``): ``data`` does not import ``serve``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, column, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from model.labels import LABELS
from model.secret_file import ensure_secret_file

EXPORT_FILE = "decisions.jsonl"
MANIFEST_FILE = "export.json"
FORMAT = "feedguard-moderator-decisions/1"

_QUERY = """
SELECT d.id, d.post_id, d.moderator_id, d.verdicts, d.action, d.scope, d.model_labels, d.model_version,
       d.created_at, p.text, p.author_id, p.created_at AS post_created_at
FROM decisions d JOIN posts p ON p.post_id = d.post_id
WHERE d.undone_at IS NULL AND d.action <> 'escalate' {since}
ORDER BY d.id
"""


def engine_url(url: str) -> str:
    """``postgresql://`` URLs use psycopg 3 (the driver installed); others as given."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"The 'database_url' parameter must be a non-empty string; got {url!r} instead.")
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def default_database_url() -> str:
    """The service's default store: ``FEEDGUARD_DATABASE_URL``, else SQLite under ``$FEEDGUARD_HOME``."""
    explicit = os.environ.get("FEEDGUARD_DATABASE_URL")
    if explicit:
        return explicit
    home = Path(os.environ.get("FEEDGUARD_HOME", "var"))
    return f"sqlite:///{(home / 'feedguard.db').resolve()}"


def ensure_salt(path: Path) -> str:
    """The pseudonym salt at ``path``, created (mode 0600) on first use."""
    return ensure_secret_file(path, lambda: secrets.token_hex(32), min_length=16)


def pseudonym(salt: str, kind: str, value: object) -> str:
    """A stable, keyed, non-reversible id: ``kind`` keeps authors and moderators apart."""
    digest = hmac.new(salt.encode("utf-8"), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[0]}_{digest[:16]}"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite keeps UTC without a zone
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


@dataclass
class ExportSummary:
    """What was written (also saved as ``export.json``)."""

    format: str
    rows: int
    labelled: dict[str, int]
    normal: int
    moderators: int
    by_action: dict[str, int]
    since: str | None
    sha256: str
    exported_at: str
    files: list[str] = field(default_factory=list)


def export_decisions(
    database_url: str, out_dir: Path, *, salt: str, since: datetime | None = None
) -> ExportSummary:
    """Write the decisions in force as ``out_dir/decisions.jsonl`` + ``export.json``; see the module docstring.

    Raises ``ValueError`` when the store cannot be read or has no review tables yet.
    """
    if not isinstance(salt, str) or len(salt) < 16:
        raise ValueError(
            "The 'salt' parameter of export_decisions must be a string of at least 16 characters."
        )
    if since is not None and (not isinstance(since, datetime) or since.tzinfo is None):
        raise ValueError(
            f"The 'since' parameter of export_decisions must be an aware datetime; got {since!r}."
        )
    shown = make_url(engine_url(database_url)).render_as_string(hide_password=True)
    engine = create_engine(engine_url(database_url))
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("decisions"):
                raise ValueError(
                    f"The store at {shown} has no 'decisions' table: start the service once (it migrates)"
                    " or check FEEDGUARD_HOME / --database-url."
                )
            query = text(_QUERY.format(since="AND d.created_at >= :since" if since else "")).columns(
                column("id", Integer),
                column("post_id", String),
                column("moderator_id", Integer),
                column("verdicts", JSON),
                column("action", String),
                column("scope", String),
                column("model_labels", JSON),
                column("model_version", String),
                column("created_at", DateTime(timezone=True)),
                column("text", Text),
                column("author_id", String),
                column("post_created_at", DateTime(timezone=True)),
            )
            params: dict[str, Any] = {}
            if since is not None:
                bound = since.astimezone(UTC)
                params["since"] = bound.replace(tzinfo=None) if connection.dialect.name == "sqlite" else bound
            rows = connection.execute(query, params).mappings().all()
    except SQLAlchemyError as err:
        raise ValueError(f"The store at {shown} could not be read ({type(err).__name__}).") from err
    finally:
        engine.dispose()

    latest: dict[str, Any] = {}
    for row in rows:  # ordered by id: the last decision in force per post wins
        latest[row["post_id"]] = row
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    labelled: Counter[str] = Counter()
    by_action: Counter[str] = Counter()
    moderators: set[int] = set()
    normal = 0
    for row in sorted(latest.values(), key=lambda r: r["id"]):
        verdicts = _json(row["verdicts"]) or {}
        labels = [label for label in LABELS if verdicts.get(label) == "confirm"]
        labelled.update(labels)
        normal += not labels
        by_action[row["action"]] += 1
        moderators.add(int(row["moderator_id"]))
        record = {
            "text": row["text"],
            "labels": labels,
            "post_id": row["post_id"],
            "author_id": pseudonym(salt, "author", row["author_id"]) if row["author_id"] else "",
            "created_at": _iso(row["post_created_at"]) or "",
            "kind": f"moderator/{row['action']}",
            "moderator": pseudonym(salt, "moderator", row["moderator_id"]),
            "decided_at": _iso(row["created_at"]),
            "verdicts": {label: verdicts.get(label, "clear") for label in LABELS},
            "scope": row["scope"],
            "model_labels": list(_json(row["model_labels"]) or []),
            "model_version": row["model_version"],
        }
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
    payload = ("\n".join(lines) + "\n" if lines else "").encode("utf-8")
    (out_dir / EXPORT_FILE).write_bytes(payload)
    summary = ExportSummary(
        format=FORMAT,
        rows=len(lines),
        labelled={label: labelled.get(label, 0) for label in LABELS},
        normal=normal,
        moderators=len(moderators),
        by_action=dict(sorted(by_action.items())),
        since=since.isoformat() if since else None,
        sha256=hashlib.sha256(payload).hexdigest(),
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
        files=[EXPORT_FILE],
    )
    (out_dir / MANIFEST_FILE).write_text(json.dumps(asdict(summary), indent=2) + "\n", encoding="utf-8")
    return summary
