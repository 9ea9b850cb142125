"""Process configuration, read once from `HISAAB_*` environment variables.

Everything is validated at start so that a typo in a URL or a too-short token stops the process
with a message naming the variable, instead of failing on the first request.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from hisaab.db import POOL_SIZE
from hisaab.mail.config import check_address, parse_smtp_url


def _postgres_url(value: str | None, variable: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ValueError(f"{variable} is not a database URL: {exc}") from None
    if not url.drivername.startswith("postgresql"):
        raise ValueError(f"{variable} must be a postgresql:// URL, got {url.drivername}://")
    return value


class Settings(BaseSettings):
    """What an operator can set; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="HISAAB_", extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        description="Owner connection (runs migrations). Unset: embedded PostgreSQL.",
    )
    app_database_url: str | None = Field(
        default=None,
        description="Connection of the application role (no table ownership, no BYPASSRLS). "
        "Unset: the owner URL with the user replaced by `app_db_role`.",
    )
    app_db_role: str = Field(default="hisaab_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    data_dir: Path = Path(".hisaab")
    admin_token: str | None = Field(default=None, min_length=24)
    secret_keys: SecretStr | None = Field(
        default=None,
        description="Fernet keys (comma-separated, newest first) that encrypt gateway "
        "credentials and webhook secrets at rest. Unset: one generated into the data dir.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    db_pool_size: int = Field(
        default=POOL_SIZE,
        ge=1,
        le=200,
        description="Connections a process keeps to the database at most (opened as needed).",
    )
    api_workers: int = Field(
        default=1, ge=1, le=64, description="Processes `hisaab api` serves with (one port)."
    )
    worker_concurrency: int = Field(default=4, ge=1, le=200)
    worker_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port on which `hisaab worker` serves its Prometheus metrics (`/metrics`, "
        "on HISAAB_HOST). Unset: not served.",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="Where emails go: smtp://user:pass@host:587 or smtps://… (README). "
        "Unset: written as .eml files to <data_dir>/outbox.",
    )
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+(/\S*)?$",
        description="Where customers reach this deployment (the pay links in emails and the "
        "gateways' return URLs), e.g. https://billing.example.com. Unset: http://host:port.",
    )
    stripe_api_base: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+(/\S*)?$",
        description="Where the Stripe SDK sends requests (stripe-mock, a fake). Unset: Stripe.",
    )
    razorpay_api_base: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+(/\S*)?$",
        description="Where the Razorpay SDK sends requests. Unset: Razorpay.",
    )
    mail_from: str = Field(
        default="billing@localhost",
        description="From address of every email; the display name is the tenant's name and "
        "Reply-To the tenant's email.",
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        return _postgres_url(value, "HISAAB_DATABASE_URL")

    @field_validator("app_database_url")
    @classmethod
    def _check_app_database_url(cls, value: str | None) -> str | None:
        return _postgres_url(value, "HISAAB_APP_DATABASE_URL")

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _check_smtp_url(cls, value: object) -> object:
        if value is None or value == "":
            return None
        url = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        parse_smtp_url(url)  # its errors never repeat the URL, which may hold a password
        return url

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str) -> str:
        return check_address(value)

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @cached_property
    def pgdata(self) -> Path:
        return (self.data_dir / "pg").resolve()


def database_urls(owner_url: str, settings: Settings) -> tuple[URL, URL]:
    """The owner URL (migrations) and the application-role URL, both for SQLAlchemy + psycopg."""
    owner = make_url(owner_url).set(drivername="postgresql+psycopg")
    if settings.app_database_url:
        app = make_url(settings.app_database_url).set(drivername="postgresql+psycopg")
    else:
        app = owner.set(username=settings.app_db_role, password=None)
    return owner, app


def load_settings() -> Settings:
    """Settings from the environment; raises SettingsError with one line per bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            variable = "HISAAB_" + "_".join(str(part) for part in error["loc"]).upper()
            lines.append(f"{variable}: {error['msg']}")
        raise SettingsError("\n".join(lines)) from None


class SettingsError(Exception):
    """Configuration that cannot start the process."""
