"""What request handlers share: settings, registry, database engine, Kafka producer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.registry import Registry
from services.common.settings import Settings


@dataclass(frozen=True)
class GatewayContext:
    settings: Settings
    registry: Registry
    engine: AsyncEngine
    producer: AIOKafkaProducer | None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def today(self) -> date:
        return datetime.now(UTC).astimezone(self.tz).date()

    def service_area_of(self, unit_id: str) -> str | None:
        unit = self.registry.unit(unit_id)
        return unit.service_area if unit else None


def context(request: Request) -> GatewayContext:
    found: GatewayContext = request.app.state.context
    return found
