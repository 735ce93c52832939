"""The review page's knobs: one ``ReviewConfig`` nested in the service settings as ``review``.

Why nested: every review setting is visible and overridable in one place (``[review]`` in the
TOML file, or ``FEEDGUARD_REVIEW='{"lease_minutes": 3}'``) without growing the service's own
settings class. None of these are model thresholds (those live in the policy file); they are
how long a lease or a session lasts and how much a page shows.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class ReviewConfig(BaseModel):
    """Leases, sessions, login throttling and page sizes for the review queue."""

    model_config = ConfigDict(extra="forbid")

    #: How long opening an item reserves it for one moderator.
    lease_minutes: float = Field(default=5.0, gt=0, le=240)
    #: How long a login lasts (absolute; logout or an account being disabled ends it sooner).
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    #: ``Secure`` on the session cookie; None: on in production, off in development (plain http://localhost).
    cookie_secure: bool | None = None
    #: Signs session cookies and CSRF tokens. None: generated once under ``$FEEDGUARD_HOME`` (refused in production).
    secret_key: SecretStr | None = Field(default=None, repr=False)
    #: Failed logins for one user name within ``login_window_minutes`` before further tries are refused.
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: float = Field(default=15.0, gt=0)
    #: Shortest password ``feedguard users add`` and the accounts page accept.
    min_password_chars: int = Field(default=12, ge=8)
    #: Rows on the queue page, posts in the author's history, posts listed for a cluster.
    page_size: int = Field(default=50, ge=1, le=1000)
    author_posts: int = Field(default=8, ge=0, le=100)
    cluster_listed: int = Field(default=48, ge=1, le=1000)
    #: Keep a thumbnail of every image the feed sends (moderators must see screenshots; ~10-30 kB each).
    store_thumbnails: bool = True
    #: Longest side of stored thumbnails (pixels) and their WebP quality.
    thumbnail_side: int = Field(default=480, ge=32, le=2048)
    thumbnail_quality: int = Field(default=80, ge=10, le=100)
    #: Time zone the pages show times in (the moderators' own).
    display_timezone: str = "Asia/Shanghai"
    #: Stats page: days of decisions per day, days of cluster activity, clusters listed.
    stats_days: int = Field(default=14, ge=1, le=366)
    stats_cluster_days: int = Field(default=7, ge=1, le=366)
    stats_clusters: int = Field(default=10, ge=1, le=200)

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"must be an IANA time zone such as 'Asia/Shanghai' or 'UTC'; got {value!r}"
            ) from err
        return value
