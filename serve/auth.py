"""Service-to-service API keys with scopes (``score``, ``feed``, ``preferences``).

Keys come from the settings (``api_keys``: name, key or its SHA-256, scopes). For local use a
key with every scope is generated once under ``$FEEDGUARD_HOME`` (file mode 0600) and printed by
``feedguard serve``; production refuses that convenience. Only SHA-256 digests are kept in
memory, comparisons are constant-time, and no key ever reaches a log line: errors name the key's
configured *name* at most, never the key.

A request presents its key as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. No key or
an unknown key -> 401; a known key without the route's scope -> 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from model.secret_file import ensure_secret_file
from serve.errors import Forbidden, Unauthorized
from serve.settings import SCOPES, Settings

LOCAL_KEY_NAME = "local"


@dataclass(frozen=True)
class Principal:
    """Who called: the configured key name and what it may do."""

    name: str
    scopes: frozenset[str]


class KeyRing:
    """The accepted keys, as SHA-256 digests."""

    def __init__(self, entries: list[tuple[str, str, frozenset[str]]]) -> None:
        self._entries = entries

    @classmethod
    def from_settings(cls, settings: Settings, local_key: str | None = None) -> KeyRing:
        entries = [(k.name, k.digest(), frozenset(k.scopes)) for k in settings.api_keys]
        if local_key is not None:
            entries.append((LOCAL_KEY_NAME, _digest(local_key), frozenset(SCOPES)))
        return cls(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def identify(self, key: str) -> Principal | None:
        digest = _digest(key)
        found: Principal | None = None
        for name, known, scopes in self._entries:
            # Compare against every entry (no early exit) so timing says nothing about which matched.
            if hmac.compare_digest(digest, known) and found is None:
                found = Principal(name=name, scopes=scopes)
        return found


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def ensure_local_key(path: Path) -> str:
    """Return the local key stored at ``path``, creating it (mode 0600) on first use."""
    return ensure_secret_file(path, lambda: secrets.token_urlsafe(32), min_length=16)


_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key header")


def require_scope(scope: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets through only keys holding ``scope``."""
    if scope not in SCOPES:
        raise ValueError(
            f"The 'scope' parameter of require_scope must be one of {', '.join(SCOPES)}; got {scope!r}."
        )

    async def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        header_key: Annotated[str | None, Security(_header)],
    ) -> Principal:
        key = bearer.credentials if bearer is not None else header_key
        if not key:
            raise Unauthorized("An API key is required (Authorization: Bearer <key> or X-API-Key).")
        keyring: KeyRing = request.app.state.keyring
        principal = keyring.identify(key)
        if principal is None:
            raise Unauthorized("The API key is not valid.")
        if scope not in principal.scopes:
            raise Forbidden(f"The API key {principal.name!r} lacks the {scope!r} scope this route needs.")
        return principal

    return dependency


ScoreCaller = Annotated[Principal, Depends(require_scope("score"))]
FeedCaller = Annotated[Principal, Depends(require_scope("feed"))]
PreferencesCaller = Annotated[Principal, Depends(require_scope("preferences"))]
