"""Applying events to a service domain the way the consumer loop does, without Kafka."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.consumer import Consumed, Domain, E, R, apply_new


async def apply_batch(
    engine: AsyncEngine,
    domain: Domain[E, R],
    events: Sequence[E],
    partition: int = 0,
    group: str = "test",
) -> list[Consumed[E]]:
    """One transaction: claim ids, apply the new events; then `committed`. Returns the new."""
    consumed = [Consumed(event, partition, n) for n, event in enumerate(events)]
    async with engine.begin() as conn:
        stored, result = await apply_new(conn, group, domain, consumed)
    domain.committed(result)
    return stored.fresh
