"""Response models of the chat endpoints (docs/api.md)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

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


class ForecastRow(BaseModel):
    """A queue's hour: the chats expected and the professionals advised for them."""

    queue_id: str
    hour: datetime = Field(description="the hour's start, local time")
    open: bool
    holiday: bool
    expected_offered: float | None
    handle_seconds: float | None
    concurrency: int
    professionals_advised: int | None
    professionals_on_duty: int = Field(description="on duty now, the same in every hour")
    expected_service_level: float | None


class QueueForecast(BaseModel):
    """What a queue's advice rests on: its target, handle time, patience and model."""

    queue_id: str
    name: str
    unit_id: str | None
    service_level_seconds: int
    target_ratio: float
    handle_seconds: float | None
    patience_seconds: float | None
    concurrency: int
    model: Model | None
    professionals_on_duty: int


class ChatForecast(BaseModel):
    as_of: datetime
    days: list[date]
    queues: list[QueueForecast]
    rows: list[ForecastRow]
