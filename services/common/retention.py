"""Bounded storage: the dedupe floor and the month partitions of applied event ids.

The floor trails the newest event time every consumed partition has reached by the dedupe
horizon, rounded down to a month (UTC). It follows the streams' own time, not the clock, so a
replay of last year's events is deduplicated like live ones; it only moves forward. Events
older than the floor are `too_old` (never applied), so the ids below it are dropped a whole
month partition at a time. See docs/operations.md, "Retention".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.consumer import BackgroundTask, ConsumerApp, E, R, periodic
from services.common.history import Stories, forget_stories

log = logging.getLogger(__name__)

_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('kanava retention'))")
# No consumed partition with an event time yet: the floor stays (a fresh database accepts any
# history). A consumer group that stopped for good holds the floor back: forget its offsets.
_MOVE_FLOOR = text(
    """
    UPDATE dedupe_floor SET floor = GREATEST(floor, (
        SELECT date_trunc(
            'month', LEAST(now(), min(max_event_time)) - make_interval(days => :days), 'UTC'
        )
        FROM consumer_offsets
        HAVING count(max_event_time) > 0
    ))
    RETURNING floor
    """
)
# Held while moving rows: a batch routing an id to the default partition waits (rare: only
# event times of months that have no partition yet go there).
_LOCK_DEFAULT = text("LOCK TABLE applied_events_default IN ACCESS EXCLUSIVE MODE")
# A partition for this month and the next, and for every month at or above the floor that
# has ids in the default partition (history replayed); what stays there is below the floor.
_MONTHS_TO_HOLD = text(
    """
    SELECT kanava_applied_events_month((month AT TIME ZONE 'UTC')::date)
    FROM (
        SELECT DISTINCT date_trunc('month', event_time, 'UTC') AS month
        FROM applied_events_default WHERE event_time >= :floor
        UNION
        SELECT date_trunc('month', now() + step, 'UTC')
        FROM unnest(ARRAY[interval '0 months', interval '1 month']) AS step
    ) AS months
    """
)
_PARTITIONS_BELOW = text(
    """
    SELECT child.relname
    FROM pg_inherits
    JOIN pg_class child ON child.oid = pg_inherits.inhrelid
    JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
    WHERE parent.relname = 'applied_events' AND child.relname ~ '^applied_events_[0-9]{4}_[0-9]{2}$'
      AND to_date(substring(child.relname from 16), 'YYYY_MM') + interval '1 month'
          <= (:floor AT TIME ZONE 'UTC')
    ORDER BY child.relname
    """
)
_HISTORY_CUTOFF = text("SELECT floor - make_interval(months => :months) FROM dedupe_floor")
_DEFAULT_COUNT = text("SELECT count(*) FROM applied_events_default")
_DEFAULT_EMPTY = text("TRUNCATE applied_events_default")


@dataclass(frozen=True)
class Retention:
    floor: datetime
    partitions_dropped: list[str]
    default_rows_deleted: int


async def move_floor(engine: AsyncEngine, horizon_days: int) -> datetime:
    """Its own short transaction: it waits for batches in flight (they hold the floor row
    FOR SHARE), and batches after it see the new floor."""
    async with engine.begin() as conn:
        floor: datetime = await conn.scalar(_MOVE_FLOOR, {"days": horizon_days})
    return floor


async def drop_below_floor(engine: AsyncEngine, floor: datetime) -> Retention:
    """Drop the month partitions below the floor, give each month at or above it a partition
    of its own, and empty the default partition of what is left (all below the floor).
    Nothing below the floor is claimed any more. Two transactions, so neither waits on a
    batch that waits on it: dropping a partition locks the whole table for a moment."""
    async with engine.begin() as conn:
        await conn.execute(_LOCK)
        dropped = await _drop_partitions(conn, floor)
    async with engine.begin() as conn:
        await conn.execute(_LOCK)
        await conn.execute(_LOCK_DEFAULT)
        await conn.execute(_MONTHS_TO_HOLD, {"floor": floor})
        deleted = int(await conn.scalar(_DEFAULT_COUNT) or 0)
        if deleted:
            await conn.execute(_DEFAULT_EMPTY)
    return Retention(floor, dropped, deleted)


async def _drop_partitions(conn: AsyncConnection, floor: datetime) -> list[str]:
    names = list((await conn.scalars(_PARTITIONS_BELOW, {"floor": floor})).all())
    for name in names:
        await conn.execute(text(f'DROP TABLE "{name}"'))
    return names


async def apply_retention(engine: AsyncEngine, horizon_days: int) -> Retention:
    """Move the dedupe floor and drop the applied ids below it."""
    floor = await move_floor(engine, horizon_days)
    done = await drop_below_floor(engine, floor)
    if done.partitions_dropped or done.default_rows_deleted:
        log.info(
            "retention: dedupe floor %s; dropped %s and %d older ids",
            floor.date().isoformat(),
            ", ".join(done.partitions_dropped) or "no partition",
            done.default_rows_deleted,
        )
    return done


async def history_cutoff(engine: AsyncEngine, history_months: int) -> datetime:
    """`history_months` before the dedupe floor: stories silent since then are forgotten."""
    async with engine.connect() as conn:
        cutoff: datetime = await conn.scalar(_HISTORY_CUTOFF, {"months": history_months})
    return cutoff


async def forget_history(engine: AsyncEngine, stories: Stories, cutoff: datetime) -> dict[str, int]:
    async with engine.begin() as conn:
        forgotten = await forget_stories(conn, stories, cutoff)
    if any(forgotten.values()):
        log.info(
            "retention: stories silent since before %s forgotten (%s)",
            cutoff.date().isoformat(),
            ", ".join(f"{table} {n}" for table, n in forgotten.items()),
        )
    return forgotten


def retention_task(
    app: ConsumerApp[E, R], horizon_days: int, history_months: int, interval: float
) -> BackgroundTask:
    """What every service runs beside its consumer: the dedupe floor and applied ids, then
    its own stories. Every instance may run it: an advisory lock and the floor's row lock
    keep them from stepping on each other."""

    done: list[datetime] = []  # the cutoff moves once a month: look for old stories then

    async def retain(engine: AsyncEngine) -> None:
        await apply_retention(engine, horizon_days)
        if app.stories is None:
            return
        cutoff = await history_cutoff(engine, history_months)
        if not done or cutoff > done[-1]:
            await forget_history(engine, app.stories, cutoff)
            done.append(cutoff)

    return periodic(interval, retain, f"{app.service}: retention")
