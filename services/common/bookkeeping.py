"""Set-based SQL for the consumer's own state: applied event ids and consumed offsets.

Both are written in the same transaction as the service's state changes, so a batch is
applied exactly once whatever dies when.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_CLAIM = text(
    """
    INSERT INTO applied_events (consumer_group, event_id)
    SELECT :group, id FROM unnest(CAST(:ids AS text[])) AS id
    ON CONFLICT DO NOTHING
    RETURNING event_id
    """
)
_SAVE_OFFSETS = text(
    """
    INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, updated_at)
    SELECT :group, :topic, p, o, now()
    FROM unnest(CAST(:partitions AS integer[]), CAST(:offsets AS bigint[])) AS t(p, o)
    ON CONFLICT (consumer_group, topic, partition) DO UPDATE
    SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset),
        updated_at = now()
    """
)
_LOAD_OFFSETS = text(
    """
    SELECT partition, next_offset FROM consumer_offsets
    WHERE consumer_group = :group AND topic = :topic
      AND partition = ANY(CAST(:partitions AS integer[]))
    """
)


async def claim_events(conn: AsyncConnection, group: str, ids: Sequence[str]) -> set[str]:
    """Record event ids as applied; returns those not applied before (the rest are duplicates).

    A concurrent transaction claiming the same id waits for this one, then skips it.
    """
    if not ids:
        return set()
    result = await conn.execute(_CLAIM, {"group": group, "ids": list(ids)})
    return {row[0] for row in result}


async def save_offsets(
    conn: AsyncConnection, group: str, topic: str, next_offsets: Mapping[int, int]
) -> None:
    """Store the next offset to read per partition; never moves an offset backwards."""
    await conn.execute(
        _SAVE_OFFSETS,
        {
            "group": group,
            "topic": topic,
            "partitions": list(next_offsets),
            "offsets": list(next_offsets.values()),
        },
    )


async def load_offsets(
    conn: AsyncConnection, group: str, topic: str, partitions: Collection[int]
) -> dict[int, int]:
    result = await conn.execute(
        _LOAD_OFFSETS, {"group": group, "topic": topic, "partitions": list(partitions)}
    )
    return {row.partition: row.next_offset for row in result}


async def forget_offsets(conn: AsyncConnection) -> int:
    """Drop every stored offset: for a broker that starts empty (the dev stack's in-memory
    Tansu), where old offsets point past the new topics' ends. Applied event ids stay, so
    events sent again are still recognised as duplicates."""
    result = await conn.execute(text("DELETE FROM consumer_offsets"))
    return int(result.rowcount or 0)
