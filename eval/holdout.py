"""A labelled holdout kept outside this repository, read for `feedguard eval --holdout FILE`.

Issue 3 has every release judged by hand-written posts nobody on the team has seen. Whoever
keeps that set writes a JSON Lines file and runs one command; they should not need our
dataset build or our code's internals. One object per line::

    {"text": "碧螺春 私我", "labels": ["hard_sell"]}
    {"id": "h-17", "text": "周末去爬山", "labels": [], "tricks": []}

``text`` (non-empty string) and ``labels`` (names from :data:`model.labels.LABELS`, ``[]``
for a normal post) are required; ``id`` (string, unique) and ``tricks`` (names from
:data:`model.labels.EVASION_TRICKS`, giving per-trick recall) are optional; other fields
are ignored, so the hand-written dev set's own file (``data/devset/dev.jsonl``) is a valid
holdout. Blank lines are skipped. Unlike `feedguard score`, a bad row stops the evaluation:
a figure over whichever rows happened to parse would judge a release on a set nobody chose.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.text_report import EvalSplit
from model.labels import EVASION_TRICKS, LABELS, labels_to_matrix

#: The split name the report and metrics.json give the holdout.
HOLDOUT_SPLIT = "holdout"


class HoldoutError(ValueError):
    """The holdout file cannot be evaluated; ``problems`` lists ``(line number, message)`` for every bad row."""

    def __init__(self, path: Path, problems: list[tuple[int, str]]) -> None:
        self.path = path
        self.problems = problems
        line, message = problems[0]
        more = f" (and {len(problems) - 1} more bad lines)" if len(problems) > 1 else ""
        where = f"line {line}: " if line else ""
        super().__init__(f"{path}: {where}{message}{more}")


def _names(row: dict[str, Any], key: str, allowed: tuple[str, ...]) -> list[str]:
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{key}' must be a list of strings; got {json.dumps(value, ensure_ascii=False)}")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise ValueError(f"'{key}' has unknown names {unknown}; known: {', '.join(allowed)}")
    if len(set(value)) != len(value):
        raise ValueError(f"'{key}' repeats a name: {value}")
    return value


def _row(line: str) -> tuple[str | None, str, list[str], list[str]]:
    """``(id, text, labels, tricks)`` of one line; ``ValueError`` says what to fix."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(row, dict):
        raise ValueError(f"must be a JSON object; got {type(row).__name__}")
    if "labels" not in row:
        raise ValueError("has no 'labels' (a list of label names, [] for a normal post)")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'text' must be a non-empty string")
    post_id = row.get("id")
    if post_id is not None and not isinstance(post_id, str):
        raise ValueError(f"'id' must be a string; got {json.dumps(post_id)}")
    return post_id, text, _names(row, "labels", LABELS), _names(row, "tricks", EVASION_TRICKS)


def load_holdout(path: Path) -> EvalSplit:
    """Every row of ``path`` as the ``holdout`` split; :class:`HoldoutError` names each bad line."""
    path = Path(path)
    if not path.is_file():
        raise HoldoutError(path, [(0, "no such file; --holdout takes a JSON Lines file of labelled posts")])
    try:
        # utf-8-sig: a file saved by an editor that writes a byte-order mark still reads from line 1.
        # split("\n"), not splitlines(): a post may hold U+2028 or U+0085, which splitlines breaks on.
        lines = path.read_text(encoding="utf-8-sig").split("\n")
    except UnicodeDecodeError as err:
        raise HoldoutError(path, [(0, f"not UTF-8 text ({err.reason} at byte {err.start})")]) from None
    texts: list[str] = []
    ids: list[str] = []
    labels: list[list[str]] = []
    tricks: list[tuple[str, ...]] = []
    seen_ids: dict[str, int] = {}
    problems: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            post_id, text, row_labels, row_tricks = _row(line)
        except ValueError as err:
            problems.append((number, str(err)))
            continue
        if post_id is not None:
            if post_id in seen_ids:
                problems.append((number, f"id {post_id!r} already used on line {seen_ids[post_id]}"))
                continue
            seen_ids[post_id] = number
            ids.append(post_id)
        texts.append(text)
        labels.append(row_labels)
        tricks.append(tuple(row_tricks))
    if problems:
        raise HoldoutError(path, problems)
    if not texts:
        raise HoldoutError(path, [(0, "has no posts")])
    # No trick names anywhere: leave per-trick recall out rather than report six empty columns.
    return EvalSplit(
        HOLDOUT_SPLIT,
        texts,
        labels_to_matrix(labels),
        tricks if any(tricks) else [],
        ids=ids if len(ids) == len(texts) else [],  # a join by id needs every row's
    )


def load_holdouts(paths: Sequence[Path]) -> EvalSplit:
    """Several holdout files as one split, in the order given.

    Threshold posts grow by whole retired holdouts; reading them file by file keeps each one
    committed as written (and its sha256 recorded) instead of a concatenation nobody can trace.
    A file that repeats another is refused: it would weigh its posts twice without anyone asking.
    """
    if not paths:
        raise ValueError("load_holdouts needs at least one file.")
    resolved = [Path(path).resolve() for path in paths]
    for index, path in enumerate(resolved):
        if path in resolved[:index]:
            raise HoldoutError(Path(paths[index]), [(0, "is named twice; give each file once")])
    parts = [load_holdout(path) for path in paths]
    if len(parts) == 1:
        return parts[0]
    ids = [i for part in parts for i in part.ids]
    return EvalSplit(
        HOLDOUT_SPLIT,
        [t for part in parts for t in part.texts],
        np.concatenate([part.y for part in parts]),
        # Per-trick recall needs a trick tuple per row; a file without any gives its rows none.
        [t for part in parts for t in (part.tricks or [()] * len(part.texts))]
        if any(part.tricks for part in parts)
        else [],
        # Ids join scores to rows only when every row has one and no two rows share one.
        ids=ids if len(ids) == sum(len(part.texts) for part in parts) and len(set(ids)) == len(ids) else [],
    )
