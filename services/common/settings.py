"""One settings class for every process: environment variables with the prefix KANAVA_, listed
in README.md, "Configuration"."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.common.events import Channel
from services.common.i18n import Language

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEV_PHONE_HASH_KEY = "kanava-dev-only-phone-hash-key"
CHANNELS: tuple[str, ...] = get_args(Channel)
DEFAULT_DIGITAL_CHANNELS = ("video", "chat", "message", "e_service", "pathway")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KANAVA_", extra="ignore")

    environment: Literal["development", "production"] = Field(
        default="development",
        description="production: refuse the development key, missing secrets and dev tokens",
    )
    kafka_bootstrap: str | None = Field(
        default=None, description="host:port list of a Kafka cluster; unset: the dev stack's own"
    )
    database_url: str | None = Field(
        default=None, description="postgresql+asyncpg://… URL; unset: an embedded PostgreSQL"
    )
    phone_hash_key: SecretStr = SecretStr(DEV_PHONE_HASH_KEY)
    sms_webhook_secret: SecretStr | None = None
    timezone: str = "Europe/Helsinki"
    language: Language = Field(
        default="fi",
        description="reports, the wallboard and error texts when the reader asks for no language",
    )
    registry_file: Path = PROJECT_ROOT / "infra" / "registry" / "demo.yaml"

    gateway_port: int = 8000
    chat_metrics_metrics_port: int = 9101
    pathway_metrics_metrics_port: int = 9102
    feedback_ingest_metrics_port: int = 9103
    contact_metrics_metrics_port: int = 9104
    prometheus_port: int = Field(default=9090, description="the dev stack's Prometheus")
    alertmanager_port: int = Field(default=9093, description="the dev stack's Alertmanager")
    grafana_url: str | None = None
    grafana_token: SecretStr | None = None
    grafana_snapshot_expires_seconds: int = Field(default=0, ge=0, description="0: never")

    data_dir: Path = PROJECT_ROOT / ".kanava"
    dev_broker_port: int = 9092
    topic_partitions: int = Field(default=6, ge=1)
    batch_max_records: int = Field(default=5000, ge=1)
    batch_wait_ms: int = Field(default=200, ge=0)
    consumer_lanes: int = Field(
        default=2, ge=1, description="batches of a service stored at once (partition modulo)"
    )
    max_future_seconds: int = Field(default=3600, ge=0)
    session_timeout_ms: int = Field(default=6_000, ge=1000)
    heartbeat_interval_ms: int = Field(default=2_000, ge=100)
    stall_retry_max_seconds: float = Field(
        default=30, gt=0, description="longest wait between tries of a stalled consumer"
    )
    log_level: str = "INFO"
    chat_timeout_sweep_seconds: float = Field(default=30, gt=0)
    min_responses: int = Field(default=5, ge=1, description="below it NPS is not shown")
    min_alert_responses: int = Field(default=30, ge=1, description="7-day responses for a drop")
    feedback_response_window_days: int = Field(default=7, ge=1)
    feedback_refresh_seconds: float = Field(default=15, gt=0)
    unmatched_reply_retention_days: int = Field(default=30, ge=1)
    comment_retention_months: int = Field(default=24, ge=1)
    retention_interval_seconds: float = Field(default=3600, gt=0)
    dedupe_horizon_days: int = Field(
        default=62,
        ge=1,
        description="event ids are kept this long behind the streams' newest event times; "
        "older events count as too_old",
    )
    history_months: int = Field(
        default=25,
        ge=14,
        description="stories silent this long before the dedupe floor are forgotten "
        "(their per-day figures stay; reports compare with the same month a year before)",
    )
    digital_channels: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_DIGITAL_CHANNELS,
        description="contact channels counted as digital, comma-separated",
    )
    contact_refresh_seconds: float = Field(default=15, gt=0)

    @field_validator("digital_channels", mode="before")
    @classmethod
    def _channel_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(c.strip() for c in value.split(",") if c.strip())
        if isinstance(value, list | tuple):
            unknown = sorted(set(value) - set(CHANNELS))
            if unknown:
                raise ValueError(f"unknown channels {unknown}; known: {', '.join(CHANNELS)}")
            return tuple(sorted(set(value)))
        return value

    def bootstrap(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.dev_broker_port}"

    def metrics_port(self, service: str) -> int:
        port: int = getattr(self, f"{service}_metrics_port")
        return port

    def require_database_url(self) -> str:
        if not self.database_url:
            raise SystemExit(
                "KANAVA_DATABASE_URL is not set: start the whole stack with `kanava up`, "
                "or point KANAVA_DATABASE_URL at a PostgreSQL (postgresql+asyncpg://…)."
            )
        return self.database_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
