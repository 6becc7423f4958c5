"""Process settings, from the environment only.

Validation errors name the environment variable at fault, because that is what the operator typed.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.attachments import Limits


class SettingsError(ValueError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "SWITCHBOARD_DATABASE_URL"),
        description="PostgreSQL with pgvector; unset → an embedded server under SWITCHBOARD_DATA_DIR",
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "SWITCHBOARD_REDIS_URL"),
        description="Redis for Socket.IO fan-out across processes; unset → single process",
    )
    data_dir: Path = Field(default=Path(".switchboard"), description="embedded database, secret key, models")
    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8080, ge=0, le=65535, description="HTTP port (0 = pick a free one)")
    public_url: str | None = Field(default=None, description="external base URL used in links; default http://HOST:PORT")
    secret_key: str | None = Field(
        default=None, min_length=32,
        description="signs sessions and visitor tokens; unset → generated once and kept in DATA_DIR/secret_key",
    )
    run_workers: bool = Field(default=True, description="serve also runs the background workers (demo, small installs)")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="log level")
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop", description="uvloop halves the per-statement cost of async psycopg; asyncio for debugging",
    )
    pool_max_size: int = Field(default=10, ge=1, le=200, description="database connections per process")
    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint; unset → offline models")
    llm_api_key: str | None = Field(default=None, description="API key for the LLM endpoint")
    llm_model: str = Field(default="gpt-4o-mini", description="chat model name at the LLM endpoint")
    llm_timeout_seconds: float = Field(default=20.0, gt=0, le=300, description="per LLM call")
    webhook_disable_after_failures: int = Field(
        default=10, ge=1, le=1000,
        description="failed deliveries in a row after which a webhook subscription is disabled (admins re-enable it)",
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60, description="per webhook delivery attempt")
    worker_concurrency: int = Field(
        default=16, ge=1, le=256,
        description="jobs (agent runs, ticks) one process runs at once; concurrent agent runs share batched model calls",
    )
    chat_messages_per_second: float = Field(
        default=5.0, gt=0, le=10_000,
        description="messages one chat connection may send per second (bursts of 2×; one address 4× this rate)",
    )
    outbox_lease_seconds: float = Field(
        default=60.0, gt=0, le=3600,
        description="how long a dispatcher holds an outbox row it is sending; a row held by a killed worker is "
                    "retried after this (keep it above the 30 s send timeout when several workers run)",
    )
    job_lease_seconds: float = Field(
        default=60.0, ge=1, le=3600,
        description="how long a worker holds a job (agent run, tick) between heartbeats; a job held by a killed "
                    "worker runs again after this",
    )
    imap_lease_seconds: float = Field(
        default=60.0, ge=3, le=3600,
        description="how long a worker holds a mailbox's IMAP poller lease (renewed every third of it); another "
                    "worker takes the mailbox over this long after its holder died",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="largest HTTP request body accepted")
    attachment_max_bytes: int = Field(
        default=10_485_760, ge=1024, le=104_857_600,
        description="largest attachment stored (email part, chat or console upload); larger email parts are listed, not kept",
    )
    attachment_max_per_message: int = Field(default=10, ge=1, le=100, description="attachments one message may carry")
    trusted_proxies: str = Field(
        default="", description="comma-separated proxy addresses/networks whose X-Forwarded-For gives the client "
                                "address (per-address limits, /metrics loopback check); empty → none trusted",
    )
    metrics_token: str | None = Field(
        default=None, min_length=16,
        description="bearer token Prometheus must send to /metrics; unset → /metrics answers loopback clients only",
    )
    platform_admin_token: str | None = Field(
        default=None, min_length=24,
        description="bearer token of the platform operator for POST/DELETE /api/v1/tenants; unset → those routes "
                    "answer 403 (the `switchboard tenant` commands work regardless)",
    )
    metrics_store_kpis: bool = Field(
        default=True, description="/metrics also exposes business KPIs read from the database (turn off on extra replicas)",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        from gateway.forwarded import parse_networks

        parse_networks(value)  # a typo here would silently give every customer the proxy's address
        return value

    def attachment_limits(self) -> Limits:
        return Limits(self.attachment_max_bytes, self.attachment_max_per_message)

    def effective_public_url(self, port: int | None = None) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{port or self.port}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


ENV_NAMES = {"database_url": "DATABASE_URL", "redis_url": "REDIS_URL"}


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            name = ENV_NAMES.get(field, f"SWITCHBOARD_{field.upper()}")
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting — the README's configuration table."""
    rows = []
    for name, info in Settings.model_fields.items():
        env = ENV_NAMES.get(name, f"SWITCHBOARD_{name.upper()}")
        default = "" if info.default is None else str(info.default)
        rows.append((env, default, info.description or ""))
    return rows
