"""Applying events to a service domain the way the consumer loop does, without Kafka."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.consumer import Consumed, Domain, apply_new


async def apply_batch(
    engine: AsyncEngine,
    domain: Domain,
    events: Sequence[Any],
    partition: int = 0,
    group: str = "test",
) -> list[Consumed]:
    """One transaction: claim ids, apply the new events; then `committed`. Returns the new."""
    consumed = [Consumed(event, partition, n) for n, event in enumerate(events)]
    async with engine.begin() as conn:
        fresh = (await apply_new(conn, group, domain, consumed)).fresh
    domain.committed(fresh)
    return fresh
