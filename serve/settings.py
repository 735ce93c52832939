"""Service configuration: one ``BaseSettings`` class, read from a TOML file and the environment.

Why one class: every knob the service has (where state lives, limits on bad input, batching,
API keys) is visible in one place, typed, and overridable the same way. Precedence, strongest
first: constructor arguments (tests), environment variables ``FEEDGUARD_*``, the TOML file
(``$FEEDGUARD_CONFIG``, else ``$FEEDGUARD_HOME/config.toml`` if it exists), then the defaults
below. The defaults run on one laptop: SQLite and indexes under ``./var``, the committed release
model, and a generated local API key.

All state lives under ``home``, so a second instance with another ``FEEDGUARD_HOME`` is fully
separate (its own database, duplicate indexes, account history and key).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from serve.review.config import ReviewConfig

#: The scopes an API key can hold; each route needs exactly one.
SCOPES: tuple[str, ...] = ("score", "feed", "preferences")


class ApiKeyConfig(BaseModel):
    """One service-to-service key. Store ``key_sha256`` in files; ``key`` is accepted for local use."""

    name: str = Field(min_length=1, max_length=100)
    key: str | None = Field(default=None, min_length=16, repr=False)
    key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    scopes: list[str] = Field(min_length=1)

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: list[str]) -> list[str]:
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown:
            raise ValueError(f"scopes must be among {', '.join(SCOPES)}; got {', '.join(unknown)} instead")
        return scopes

    @model_validator(mode="after")
    def _one_secret(self) -> ApiKeyConfig:
        if (self.key is None) == (self.key_sha256 is None):
            raise ValueError(f"API key {self.name!r} must set exactly one of 'key' or 'key_sha256'")
        return self

    def digest(self) -> str:
        """The SHA-256 hex digest the service compares against (keys are never kept in clear)."""
        if self.key_sha256 is not None:
            return self.key_sha256
        assert self.key is not None
        return hashlib.sha256(self.key.encode("utf-8")).hexdigest()


def _config_file() -> Path | None:
    explicit = os.environ.get("FEEDGUARD_CONFIG")
    if explicit:
        return Path(explicit)
    candidate = Path(os.environ.get("FEEDGUARD_HOME", "var")) / "config.toml"
    return candidate if candidate.is_file() else None


class Settings(BaseSettings):
    """Everything the service can be told; see the module docstring for where values come from."""

    model_config = SettingsConfigDict(env_prefix="FEEDGUARD_", extra="forbid", validate_default=True)

    environment: Literal["development", "production"] = "development"
    home: Path = Path("var")
    #: SQLAlchemy URL; default ``sqlite:///$FEEDGUARD_HOME/feedguard.db`` (WAL mode).
    database_url: str | None = None
    #: Release directory of the model bundle; default the committed ``model/release``.
    release_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)

    api_keys: list[ApiKeyConfig] = Field(default_factory=list)
    #: Generate (once) and accept a local all-scope key under ``home``; refused in production.
    local_key: bool = True

    # Limits on input (bad input gets a 4xx that names the field).
    max_posts_per_request: int = Field(default=256, ge=1)
    max_text_chars: int = Field(default=10_000, ge=1)
    max_id_chars: int = Field(default=128, ge=1)
    max_images_per_post: int = Field(default=9, ge=0)
    max_image_bytes: int = Field(default=8 * 1024 * 1024, ge=1)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1)
    max_feed_candidates: int = Field(default=2_000, ge=1)

    # Micro-batching of concurrent /v1/score requests into one model run.
    batch_wait_ms: float = Field(default=5.0, ge=0.0, le=1_000.0)
    max_batch_posts: int = Field(default=64, ge=1)
    max_queue_posts: int = Field(default=2_048, ge=1)
    retry_after_s: int = Field(default=1, ge=1)

    # Scorer runtime knobs (not thresholds: those live in the policy file).
    intra_op_threads: int | None = Field(default=None, ge=1)
    cache_size: int = Field(default=100_000, ge=0)
    history_max_authors: int = Field(default=200_000, ge=1)
    #: Seconds between saves of the duplicate indexes and account history (also saved at shutdown).
    state_save_interval_s: float = Field(default=300.0, gt=0)
    #: After a store failure, seconds before requests try the store again (readiness probes always try).
    store_retry_s: float = Field(default=5.0, ge=0)

    #: The moderators' review page (leases, sessions, thumbnails): ``[review]`` in the TOML file.
    review: ReviewConfig = Field(default_factory=ReviewConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file()
        if config_file is not None:
            if not config_file.is_file():
                raise ValueError(
                    f"The 'FEEDGUARD_CONFIG' setting must name an existing TOML file; got {str(config_file)!r}."
                )
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @model_validator(mode="after")
    def _safe_outside_development(self) -> Settings:
        # Unsafe conveniences are refused in production: no generated key, keys must be configured.
        if self.environment == "production":
            if self.local_key:
                raise ValueError("local_key must be false when environment is 'production'")
            if not self.api_keys:
                raise ValueError("api_keys must be configured when environment is 'production'")
        return self

    # ------------------------------------------------------------------ derived paths
    @property
    def sqlalchemy_url(self) -> str:
        """The database URL in use (SQLite under ``home`` unless one was given)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'feedguard.db').resolve()}"

    @property
    def state_dir(self) -> Path:
        """Where the scorer keeps its duplicate indexes and account history."""
        return self.home / "state"

    @property
    def local_key_path(self) -> Path:
        return self.home / "local_api_key"


def get_settings() -> Settings:
    """Read the settings from the environment and config file (a fresh object each call)."""
    return Settings()
