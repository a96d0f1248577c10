"""What request handlers share: settings, registry, database engine, Kafka producer, and the
dependencies that hand them over: `Context`, and `Connection` for a handler's reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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


Context = Annotated[GatewayContext, Depends(context)]


async def connection(ctx: Context) -> AsyncIterator[AsyncConnection]:
    """A database connection for the handler, back to the pool as soon as the handler returns."""
    async with ctx.engine.connect() as conn:
        yield conn


Connection = Annotated[AsyncConnection, Depends(connection, scope="function")]
