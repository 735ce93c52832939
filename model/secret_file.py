"""A secret kept in a file of its own (mode 0600), made on first use.

The service's local API key, the review page's cookie-signing secret and the pseudonym salt of
the decisions export all live under ``$FEEDGUARD_HOME`` this way, so a laptop setup needs no
configuration and a restart keeps every key, session and pseudonym valid. It lives in
``model/`` because both ``serve/`` and ``data/`` use it and may only import from here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def ensure_secret_file(path: Path, make: Callable[[], str], min_length: int) -> str:
    """The secret stored at ``path``; a new one from ``make()`` when the file is missing or too short.

    The file is private (mode 0600) before anything is written, so the secret is never
    readable by others, not even for a moment.
    """
    path = Path(path)
    if path.is_file():
        value = path.read_text(encoding="utf-8").strip()
        if len(value) >= min_length:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file that existed keeps its old mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value
