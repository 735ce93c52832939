"""Per-author memory of recent posts: is this account mostly posting seller content?

One post can look innocent ("碧螺春 私我") while the account behind it posts ads all day; the
feed sees the account's posts one at a time, so the Scorer keeps, per author, whether each of
their last ``window`` posts was a seller post. Memory is bounded twice over: at most ``window``
posts per author and at most ``max_authors`` authors (least recently seen dropped first), so a
feed of millions of accounts cannot grow it without limit. What counts as "mostly" and how much
it moves a score are policy-file rules read by the Scorer, not constants here.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

HISTORY_FORMAT = "feedguard-account-history/1"


@dataclass(frozen=True)
class AccountStats:
    """What is known about one author's recent posts."""

    posts: int
    seller_posts: int

    @property
    def seller_ratio(self) -> float:
        """Share of the recent posts that were seller posts (0.0 for an unknown author)."""
        return self.seller_posts / self.posts if self.posts else 0.0


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"The {name!r} parameter of AccountHistory must be an int >= 1; got {value!r} instead."
        )
    return value


class AccountHistory:
    """Bounded, thread-safe record of ``(post_id, is_seller)`` for each author's recent posts."""

    def __init__(self, window: int, max_authors: int = 200_000) -> None:
        self.window = _check_positive_int("window", window)
        self.max_authors = _check_positive_int("max_authors", max_authors)
        # author -> post_id -> is_seller, oldest post first; authors least recently seen first.
        self._authors: OrderedDict[str, OrderedDict[str, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of authors remembered."""
        return len(self._authors)

    def stats(self, author_id: str, *, exclude_post_id: str | None = None) -> AccountStats:
        """Counts over the author's remembered posts, leaving out ``exclude_post_id`` (the post being scored)."""
        with self._lock:
            posts = self._authors.get(author_id)
            if not posts:
                return AccountStats(posts=0, seller_posts=0)
            flags = [flag for pid, flag in posts.items() if pid != exclude_post_id]
        return AccountStats(posts=len(flags), seller_posts=sum(flags))

    def observe(self, author_id: str, post_id: str, is_seller: bool) -> None:
        """Record (or, for a re-scored post, update) one post of ``author_id``."""
        if not isinstance(author_id, str) or not author_id:
            raise ValueError(
                f"The 'author_id' parameter of observe must be a non-empty str; got {author_id!r}."
            )
        with self._lock:
            posts = self._authors.get(author_id)
            if posts is None:
                posts = self._authors[author_id] = OrderedDict()
            else:
                self._authors.move_to_end(author_id)
            posts.pop(post_id, None)
            posts[post_id] = bool(is_seller)
            while len(posts) > self.window:
                posts.popitem(last=False)
            while len(self._authors) > self.max_authors:
                self._authors.popitem(last=False)

    def forget(self, author_id: str, post_id: str) -> bool:
        """Drop one post (its content changed, or it moved to another author); True if it was known."""
        with self._lock:
            posts = self._authors.get(author_id)
            if posts is None or post_id not in posts:
                return False
            del posts[post_id]
            if not posts:
                del self._authors[author_id]
            return True

    # ------------------------------------------------------------------ persistence (JSON, no pickle)
    def save(self, path: Path) -> Path:
        """Write the history as JSON atomically (temp file + rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            payload = {
                "format": HISTORY_FORMAT,
                "window": self.window,
                "authors": [
                    [author, [[pid, flag] for pid, flag in posts.items()]]
                    for author, posts in self._authors.items()
                ],
            }
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: Path, *, window: int, max_authors: int = 200_000) -> AccountHistory:
        """Read a saved history; ``window``/``max_authors`` come from the current policy and settings."""
        path = Path(path)
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(
                f"The 'path' parameter of AccountHistory.load must be a saved history; {err}."
            ) from err
        if not isinstance(payload, dict) or payload.get("format") != HISTORY_FORMAT:
            raise ValueError(
                f"The 'path' parameter of AccountHistory.load must be a {HISTORY_FORMAT!r} file; got {str(path)!r}."
            )
        history = cls(window=window, max_authors=max_authors)
        for author, posts in payload["authors"]:
            for post_id, flag in posts:
                history.observe(str(author), str(post_id), bool(flag))
        return history
