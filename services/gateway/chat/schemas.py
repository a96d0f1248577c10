"""Response models of the chat endpoints (docs/api.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


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
