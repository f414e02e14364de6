"""Runtime settings, read once from the environment (prefix EXPOHALL_)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-do-not-use-in-production"  # noqa: S105


class ConfigError(Exception):
    """Raised when the settings cannot run the app; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXPOHALL_", env_file=".env", extra="ignore")

    dev: bool = False
    secret_key: SecretStr | None = None
    database_url: str = "sqlite+aiosqlite:///./var/expohall.db"
    redis_url: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path("var")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    session_days: int = Field(default=14, ge=1, le=365)
    login_attempts_per_minute: int = Field(default=10, ge=1, le=1000)
    check_migrations: bool = True
    allow_private_webhooks: bool = False
    # The background worker (webhooks, follow-up email): in every app process unless disabled,
    # and/or as `expohall worker`; rows are leased, so several processes never send one twice.
    worker_in_app: bool = True
    worker_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # After a round that filled no batch: lets lead events gather (fewer, larger transactions).
    worker_linger_seconds: float = Field(default=0.25, ge=0, le=10)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Follow-up email goes out through this SMTP relay.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_tls: bool = False
    mail_from: str = "Expohall <no-reply@expohall.invalid>"
    trusted_origins: list[str] = Field(default_factory=list)
    # The websocket protocol's limits (docs/realtime.md).
    ws_max_frame_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    ws_send_queue: int = Field(default=256, ge=16, le=65536)
    ws_rate_per_second: float = Field(default=20.0, gt=0, le=1000)
    ws_rate_burst: int = Field(default=40, ge=1, le=10000)
    ws_lifetime_seconds: float = Field(default=4 * 3600.0, ge=60, le=7 * 86400)
    chat_resume_window: int = Field(default=500, ge=10, le=10000)
    presence_timeout_seconds: float = Field(default=45.0, ge=30, le=3600)  # heartbeats: 15 s

    @model_validator(mode="after")
    def _require_secret_outside_dev(self) -> Settings:
        if self.secret_key is None:
            if not self.dev:
                raise ValueError(
                    "EXPOHALL_SECRET_KEY is required outside dev mode: set it to a long random "
                    "string (python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
                    "or set EXPOHALL_DEV=1 for local development"
                )
            self.secret_key = SecretStr(DEV_SECRET)
        elif len(self.secret_key.get_secret_value()) < 32 and not self.dev:
            raise ValueError("EXPOHALL_SECRET_KEY must be at least 32 characters long")
        return self

    @property
    def secret(self) -> bytes:
        assert self.secret_key is not None  # set by the validator  # noqa: S101
        return self.secret_key.get_secret_value().encode()

    @cached_property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning a validation failure into one readable ConfigError."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(_problem(e["loc"], str(e["msg"])) for e in exc.errors())
        raise ConfigError(problems) from None


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    """`EXPOHALL_WS_RATE_BURST: Input should be greater than or equal to 1`."""
    message = message.removeprefix("Value error, ")
    if not loc:  # a rule over several settings: its message names them
        return message
    return f"EXPOHALL_{str(loc[0]).upper()}: {message}"
