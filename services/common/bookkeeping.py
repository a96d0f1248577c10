"""Set-based SQL for the consumer's own state: applied event ids and consumed offsets.

Both are written in the same transaction as the service's state changes, so a batch is
applied exactly once whatever dies when.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_CLAIM = text(
    """
    INSERT INTO applied_events (consumer_group, event_id, event_time)
    SELECT :group, id, time
    FROM unnest(CAST(:ids AS text[]), CAST(:times AS timestamptz[])) AS t(id, time)
    ON CONFLICT DO NOTHING
    RETURNING event_id
    """
)
# FOR SHARE: the retention task moves the floor only between batches, never during one.
_FLOOR = text("SELECT floor FROM dedupe_floor FOR SHARE")
_SAVE_OFFSETS = text(
    """
    INSERT INTO consumer_offsets
        (consumer_group, topic, partition, next_offset, max_event_time, updated_at)
    SELECT :group, :topic, p, o, m, now()
    FROM unnest(
        CAST(:partitions AS integer[]), CAST(:offsets AS bigint[]), CAST(:times AS timestamptz[])
    ) AS t(p, o, m)
    ON CONFLICT (consumer_group, topic, partition) DO UPDATE
    SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset),
        max_event_time = GREATEST(consumer_offsets.max_event_time, EXCLUDED.max_event_time),
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


async def dedupe_floor(conn: AsyncConnection) -> datetime:
    """Events older than this are `too_old`: their ids may have been dropped by retention."""
    floor: datetime = await conn.scalar(_FLOOR)
    return floor


async def claim_events(
    conn: AsyncConnection, group: str, events: Sequence[tuple[str, datetime]]
) -> set[str]:
    """Record (id, time) pairs as applied; returns the ids not applied before (the rest are
    duplicates). A concurrent transaction claiming the same id waits for this one, then skips
    it. Only events at or after the dedupe floor may be claimed."""
    if not events:
        return set()
    ids, times = [event[0] for event in events], [event[1] for event in events]
    result = await conn.execute(_CLAIM, {"group": group, "ids": ids, "times": times})
    return {row[0] for row in result}


async def save_offsets(
    conn: AsyncConnection,
    group: str,
    topic: str,
    next_offsets: Mapping[int, int],
    newest: Mapping[int, datetime] | None = None,
) -> None:
    """Store the next offset to read per partition, and the newest event time read from it
    (which the retention task follows); never moves either backwards."""
    newest = newest or {}
    await conn.execute(
        _SAVE_OFFSETS,
        {
            "group": group,
            "topic": topic,
            "partitions": list(next_offsets),
            "offsets": list(next_offsets.values()),
            "times": [newest.get(partition) for partition in next_offsets],
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
