"""API types (request and response bodies). Database tables live in ``serve.store.tables``.

The limits here are part of the published contract (they appear in ``/openapi.json``), so the
feed team can validate on their side and ``schemathesis`` can fuzz against them. Every bad
input is refused with a 4xx whose message names the field (``posts[3].text: ...``).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
)

from model.labels import ACTIONS, LABELS

MAX_POSTS_PER_REQUEST = 256
MAX_TEXT_CHARS = 10_000
MAX_ID_CHARS = 128
MAX_IMAGES_PER_POST = 9
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_FEED_CANDIDATES = 2_000
MAX_NOTE_CHARS = 1_000
#: Ids are opaque tokens from the platform: ASCII letters, digits and ``_ - . :``.
ID_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
#: Earliest and latest post times accepted (anything else is a client bug, not a post).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
REPORT_REASONS = ("seller_spam", "fake_proof", "fraud")

Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]


def _clean_text(value: str) -> str:
    """Refuse what cannot be stored or scored: blank text, lone surrogates, NUL characters."""
    if not value.strip():
        raise ValueError("must contain non-whitespace characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"is not valid UTF-8 (unpaired surrogate at character {err.start})") from err
    if "\x00" in value:
        raise ValueError(f"must not contain NUL characters (found at character {value.index(chr(0))})")
    return value


PostText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(_clean_text)]
Note = Annotated[str, Field(max_length=MAX_NOTE_CHARS), AfterValidator(_clean_text)]
PdqHex = Annotated[str, Field(min_length=64, max_length=64, pattern=r"^[0-9a-fA-F]{64}$")]
#: Base64 of one image; the length bound follows from MAX_IMAGE_BYTES.
Base64Image = Annotated[
    str,
    Field(
        min_length=4,
        max_length=4 * ((MAX_IMAGE_BYTES + 2) // 3),
        pattern=r"^[A-Za-z0-9+/]+={0,2}$",
        json_schema_extra={"format": "byte"},
    ),
]


def _check_time(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError) as err:
        raise ValueError(f"is out of range ({err})") from err
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"must be between {EARLIEST.date()} and {LATEST.date()}; got {utc.isoformat()}")
    return utc


PostTime = Annotated[AwareDatetime, AfterValidator(_check_time)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class PostIn(_Body):
    """One post to score."""

    post_id: Identifier
    author_id: Identifier | None = None
    created_at: PostTime | None = Field(default=None, description="ISO 8601 with a time zone")
    text: PostText
    images: list[Base64Image] = Field(
        default_factory=list,
        max_length=MAX_IMAGES_PER_POST,
        description="Images as base64 (JPEG, PNG, WebP, GIF, BMP)",
    )
    image_hashes: list[PdqHex] = Field(
        default_factory=list,
        max_length=MAX_IMAGES_PER_POST,
        description="Precomputed PDQ hashes (64 hex digits)",
    )

    def decoded_images(self) -> list[bytes]:
        """The images as bytes; ``ValueError`` names the index of a bad one."""
        out: list[bytes] = []
        for j, value in enumerate(self.images):
            try:
                data = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as err:
                raise ValueError(f"images[{j}]: is not valid base64 ({err})") from err
            if not data:
                raise ValueError(f"images[{j}]: is empty")
            if len(data) > MAX_IMAGE_BYTES:
                raise ValueError(f"images[{j}]: is {len(data)} bytes; the limit is {MAX_IMAGE_BYTES}")
            out.append(data)
        return out


class ScoreRequest(_Body):
    """A batch of posts from the feed pipeline."""

    posts: list[PostIn] = Field(min_length=1, max_length=MAX_POSTS_PER_REQUEST)

    @field_validator("posts")
    @classmethod
    def _unique_ids(cls, posts: list[PostIn]) -> list[PostIn]:
        seen: dict[str, int] = {}
        for i, post in enumerate(posts):
            if post.post_id in seen:
                raise ValueError(
                    f"posts[{i}].post_id {post.post_id!r} repeats posts[{seen[post.post_id]}].post_id;"
                    " ids in one batch must be unique"
                )
            seen[post.post_id] = i
        return posts


class Reason(BaseModel):
    """Why a post got its scores: readable by a moderator (``detail``), filterable by ``kind``."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["model", "evasion", "image_duplicate", "text_duplicate", "account_history"]
    label: str | None = None
    detail: str


class ScoreOut(BaseModel):
    post_id: str
    scores: dict[str, float] = Field(description=f"Calibrated probability per label: {', '.join(LABELS)}")
    seller: float = Field(description="max of the label scores; drives the hide-sellers preference")
    labels: list[str]
    action: Literal["allow", "label", "review", "hide"] = Field(description=f"one of {', '.join(ACTIONS)}")
    reasons: list[Reason]
    tricks: list[str]
    cached: bool = Field(description="true when this post was scored before with the same content")
    evidence: dict[str, Any] | None = None


class ScoreResponse(BaseModel):
    results: list[ScoreOut]
    model_version: str
    stored: bool = Field(description="false if the store was unavailable (scores are still valid)")


class PreferencesIn(_Body):
    hide_seller_posts: StrictBool


class PreferencesOut(BaseModel):
    user_id: str
    hide_seller_posts: bool
    updated_at: datetime | None


class FeedFilterRequest(_Body):
    viewer_id: Identifier
    post_ids: list[Identifier] = Field(
        min_length=1, max_length=MAX_FEED_CANDIDATES, json_schema_extra={"uniqueItems": True}
    )

    @field_validator("post_ids")
    @classmethod
    def _unique(cls, post_ids: list[str]) -> list[str]:
        seen: dict[str, int] = {}
        for i, pid in enumerate(post_ids):
            if pid in seen:
                raise ValueError(f"post_ids[{i}] {pid!r} repeats post_ids[{seen[pid]}]")
            seen[pid] = i
        return post_ids


class HiddenPost(BaseModel):
    post_id: str
    action: str
    labels: list[str]
    reason: str


class FeedFilterResponse(BaseModel):
    viewer_id: str
    hide_seller_posts: bool
    hide: list[HiddenPost]
    unknown: list[str] = Field(description="candidates never scored (shown: the filter fails open)")


class ReportIn(_Body):
    post_id: Identifier
    reporter_id: Identifier
    reason: Literal["seller_spam", "fake_proof", "fraud"]
    note: Note | None = None


class ReviewState(BaseModel):
    status: str
    priority: float
    report_count: int


class ReportOut(BaseModel):
    report_id: int
    post_id: str
    duplicate: bool = Field(description="true if this reporter had already reported this post")
    review: ReviewState


class ErrorOut(BaseModel):
    error: str
    message: str
    field: str | None = None


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "not_ready"]
    model: dict[str, Any]
    store: dict[str, Any]
    batcher: dict[str, Any]
