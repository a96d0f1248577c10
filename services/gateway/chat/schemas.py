"""Response models of the chat endpoints (docs/api.md)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from services.common.erlang import Model


class QueueNow(BaseModel):
    queue_id: str
    name: str
    unit_id: str | None
    open: bool
    waiting: int
    oldest_wait_seconds: float
    active: int
    agents_available: int
    capacity_slots: int
    professionals_on_duty: int
    service_level_seconds: int
    service_level_today: float | None


class QueuesNow(BaseModel):
    as_of: datetime
    queues: list[QueueNow]


class ChatStatsRow(BaseModel):
    period: str
    queue_id: str | None = None
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    transferred_out: int
    service_level: float | None
    service_level_seconds: int | None
    abandon_rate: float | None
    asa_seconds: float | None
    wait_p90_seconds: float | None
    aht_seconds: float | None
    resolved_rate: float | None
    bot_sessions: int | None
    bot_resolved: int | None
    bot_handovers: int


class ChatStats(BaseModel):
    rows: list[ChatStatsRow]


class ForecastHour(BaseModel):
    start: datetime
    open: bool
    holiday: bool
    expected_offered: float | None
    professionals_advised: int | None
    service_level: float | None


class QueueForecast(BaseModel):
    queue_id: str
    name: str
    unit_id: str | None
    service_level_seconds: int
    target_ratio: float
    handle_seconds: float | None
    patience_seconds: float | None
    concurrency: int
    model: Model | None
    staffed_now: int
    hours: list[ForecastHour]


class ChatForecast(BaseModel):
    as_of: datetime
    days: list[date]
    queues: list[QueueForecast]
