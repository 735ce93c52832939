"""The hand-written dev set: load it, check every row, count it.

Models, thresholds and generator changes are chosen on this set (see DESIGN.md, Data):
scores on the generator's own families say almost nothing, so this is the figure the
team trusts. A malformed row must therefore stop the run with the line to fix, never
be skipped, or a label typo would silently move a threshold.

The file is ``data/devset/dev.jsonl``, one JSON object per line::

    {"id": "dev-0001", "text": "碧螺春 私我", "labels": ["hard_sell"],
     "kind": "hard_sell/tea", "tricks": [], "note": "why this label"}

Rules checked here (``data/devset/README.md`` says why):

- exactly the fields ``id text labels kind tricks note``;
- ``id`` is ``dev-`` plus four digits and unique in the file;
- ``labels`` names come from :data:`model.labels.LABELS`, no repeats, in that order;
  ``[]`` means a normal post;
- ``kind`` is ``group/topic``; the group agrees with the labels: ``normal`` or
  ``hard_negative`` for ``[]``, the label itself for one label, ``multi`` for several;
- ``tricks`` names come from :data:`model.labels.EVASION_TRICKS`, no repeats, in that order;
- ``text`` and ``note`` are non-empty strings.

Run ``python -m data.devset`` to print the counts as JSON.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from model.labels import EVASION_TRICKS, LABELS, labels_to_matrix

#: Where the dev set lives in the repository.
DEFAULT_PATH: Path = Path(__file__).resolve().parent / "devset" / "dev.jsonl"

#: The fields of a row, in the order the file writes them.
FIELDS: tuple[str, ...] = ("id", "text", "labels", "kind", "tricks", "note")

#: Kind groups of posts with no label. ``hard_negative`` marks normal posts written to
#: look like the positives (own reviews, real job posts, one-off sales, complaints...).
NEGATIVE_GROUPS: tuple[str, ...] = ("normal", "hard_negative")

#: Kind group of posts that carry more than one label.
MULTI_GROUP = "multi"

_ID = re.compile(r"dev-\d{4}")
_KIND = re.compile(r"[a-z_]+/[a-z0-9_]+")


class DevRow(TypedDict):
    """One hand-written post with its labels (a plain dict at run time)."""

    id: str
    text: str
    labels: list[str]
    kind: str
    tricks: list[str]
    note: str


def load_devset(path: Path | None = None) -> list[DevRow]:
    """Read and validate the dev set; raise ``ValueError`` naming the line and field at the first bad row.

    ``path`` defaults to :data:`DEFAULT_PATH`. Rows come back in file order.
    """
    path = DEFAULT_PATH if path is None else Path(path)
    if not path.is_file():
        raise ValueError(
            f"The 'path' parameter of load_devset must name an existing file; got {str(path)!r} instead."
        )
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last row
    rows: list[DevRow] = []
    first_line_of_id: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        where = f"line {number} of {path}"
        if not line.strip():
            raise ValueError(f"The dev set must have one JSON object per line; {where} is empty.")
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"The dev set must have one JSON object per line; {where} is not valid JSON "
                f"({error.msg} at column {error.colno})."
            ) from None
        row = validate_row(raw, where)
        if row["id"] in first_line_of_id:
            raise ValueError(
                f"The 'id' field on {where} must be unique; {row['id']!r} is already used "
                f"on line {first_line_of_id[row['id']]}."
            )
        first_line_of_id[row["id"]] = number
        rows.append(row)
    if not rows:
        raise ValueError(f"The dev set at {path} has no rows.")
    return rows


def validate_row(raw: Any, where: str = "the row") -> DevRow:
    """Check one decoded row against the rules in the module docstring and return it typed.

    ``where`` names the row in error messages ("line 12 of dev.jsonl").
    """
    if not isinstance(raw, dict):
        raise ValueError(f"Each row of the dev set must be a JSON object; {where} is a {type(raw).__name__}.")
    missing = [name for name in FIELDS if name not in raw]
    if missing:
        raise ValueError(
            f"The {_quoted(missing)} field(s) on {where} are missing; every row needs {_quoted(FIELDS)}."
        )
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValueError(
            f"The {_quoted(unknown)} field(s) on {where} are unknown; rows have only {_quoted(FIELDS)}."
        )

    row_id = raw["id"]
    if not isinstance(row_id, str) or not _ID.fullmatch(row_id):
        raise ValueError(f"The 'id' field on {where} must look like 'dev-0001'; got {row_id!r} instead.")
    for name in ("text", "note"):
        value = raw[name]
        if not isinstance(value, str) or not value.strip():
            raise ValueError(
                f"The {name!r} field on {where} must be a non-empty string; got {value!r} instead."
            )

    labels = _names_in_order(raw["labels"], LABELS, "labels", where)
    tricks = _names_in_order(raw["tricks"], EVASION_TRICKS, "tricks", where)

    kind = raw["kind"]
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise ValueError(
            f"The 'kind' field on {where} must be 'group/topic' in lower case, like 'hard_sell/tea'; "
            f"got {kind!r} instead."
        )
    group = kind.split("/", 1)[0]
    expected = _expected_groups(labels)
    if group not in expected:
        raise ValueError(
            f"The 'kind' field on {where} must start with {' or '.join(repr(g) for g in expected)} "
            f"for labels {labels}; got {kind!r} instead."
        )
    return DevRow(id=row_id, text=raw["text"], labels=labels, kind=kind, tricks=tricks, note=raw["note"])


def label_matrix(rows: Sequence[DevRow]) -> np.ndarray:
    """Return the ``(n_rows, len(LABELS))`` 0/1 target matrix, columns in :data:`LABELS` order.

    Metrics in eval/ compare it with a scorer's ``(n, 3)`` probabilities column by column.
    """
    return labels_to_matrix([row["labels"] for row in rows]).astype(np.int8)


def summarize(rows: Sequence[DevRow]) -> dict[str, Any]:
    """Count rows by group, label, trick and kind: the figures the README quotes."""
    groups: Counter[str] = Counter(row["kind"].split("/", 1)[0] for row in rows)
    labels: Counter[str] = Counter(label for row in rows for label in row["labels"])
    tricks: Counter[str] = Counter(trick for row in rows for trick in row["tricks"])
    positives = [row for row in rows if row["labels"]]
    return {
        "total": len(rows),
        "normal": sum(1 for row in rows if not row["labels"]),
        "groups": {name: groups[name] for name in (*NEGATIVE_GROUPS, *LABELS, MULTI_GROUP)},
        "label_positives": {name: labels[name] for name in LABELS},
        "tricks": {name: tricks[name] for name in EVASION_TRICKS},
        "posts_with_tricks": sum(1 for row in rows if row["tricks"]),
        "positives_with_tricks": sum(1 for row in positives if row["tricks"]),
        "positives": len(positives),
        "kinds": dict(sorted(Counter(row["kind"] for row in rows).items())),
    }


def _names_in_order(value: Any, allowed: tuple[str, ...], field: str, where: str) -> list[str]:
    """Check a list of names: known, no repeats, in the canonical order (so rows diff cleanly)."""
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ValueError(f"The {field!r} field on {where} must be a list of strings; got {value!r} instead.")
    unknown = [name for name in value if name not in allowed]
    if unknown:
        raise ValueError(
            f"The {field!r} field on {where} must use names from {', '.join(allowed)}; got {unknown!r} instead."
        )
    canonical = [name for name in allowed if name in value]
    if value != canonical:
        raise ValueError(
            f"The {field!r} field on {where} must list each name once, in the order {', '.join(allowed)}; "
            f"got {value!r} instead (write {canonical!r})."
        )
    return list(value)


def _expected_groups(labels: list[str]) -> tuple[str, ...]:
    if not labels:
        return NEGATIVE_GROUPS
    if len(labels) == 1:
        return (labels[0],)
    return (MULTI_GROUP,)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)


if __name__ == "__main__":
    try:
        summary = summarize(load_devset(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
    except ValueError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    print(json.dumps(summary, ensure_ascii=False, indent=2))
