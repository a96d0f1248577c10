"""SQL of the chat endpoints and the monthly report: the same tables chat_metrics keeps."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.chat_forecast import ON_DUTY
from services.gateway.periods import Selection
from services.gateway.sql import Counts, Sums, per_period


@dataclass(frozen=True, slots=True)
class QueueCounts(Counts):
    """The columns of chat_queue_daily."""

    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    transferred_out: int
    closed: int
    handle_ms: int
    resolved_true: int
    resolved_known: int
    bot_handovers: int
    answered_within_sl: int
    answered_wait_ms: int


@dataclass(frozen=True, slots=True)
class QueueSums(Sums[QueueCounts]):
    queues: frozenset[str]  # the queues summed


@dataclass(frozen=True, slots=True)
class BotCounts(Counts):
    """The columns of chat_bot_daily: conversations started with the bot, and resolved by it."""

    sessions: int
    resolved: int


class OpenVisits(NamedTuple):
    waiting: int
    oldest: datetime | None  # the entry of the longest-waiting visit
    active: int  # answered and not closed


class Agents(NamedTuple):
    available: int  # professionals available
    slots: int  # their summed capacity
    on_duty: int  # professionals available or busy


@dataclass(frozen=True, slots=True)
class Now:
    """Per queue: the visits and professionals now, and the counts of today."""

    visits: dict[str, OpenVisits]
    agents: dict[str, Agents]
    today: dict[str, QueueCounts]


def _queue_filter(queues: list[str] | None) -> str:
    return "" if queues is None else " AND queue_id = ANY(CAST(:queues AS text[]))"


async def now(conn: AsyncConnection, today: Selection) -> Now:
    """What `GET /v1/chat/queues` shows; `today` selects the day in total."""
    visits = await open_visits(conn)
    on_queues = await agents(conn)
    sums = await queue_sums(conn, today, None, by_queue=True)
    return Now(visits, on_queues, {r.key: r.counts for r in sums if r.key is not None})


async def open_visits(conn: AsyncConnection) -> dict[str, OpenVisits]:
    rows = await conn.execute(
        text(
            "SELECT queue_id, count(*) FILTER (WHERE outcome = 'waiting') AS waiting, "
            "min(entered_at) FILTER (WHERE outcome = 'waiting') AS oldest, "
            "count(*) FILTER (WHERE outcome = 'answered') AS active "
            "FROM chat_visits WHERE outcome = 'waiting' "
            "OR (outcome = 'answered' AND closed_at IS NULL) GROUP BY queue_id"
        )
    )
    return {r.queue_id: OpenVisits(r.waiting, r.oldest, r.active) for r in rows}


async def agents(conn: AsyncConnection) -> dict[str, Agents]:
    rows = await conn.execute(
        text(
            "SELECT status, queue_ids, capacity FROM chat_agents "
            "WHERE status = ANY(CAST(:on_duty AS text[]))"
        ),
        {"on_duty": list(ON_DUTY)},
    )
    available: Counter[str] = Counter()
    slots: Counter[str] = Counter()
    on_duty: Counter[str] = Counter()
    for r in rows:
        for queue in json.loads(r.queue_ids):
            on_duty[queue] += 1
            if r.status == "available":
                available[queue] += 1
                slots[queue] += r.capacity
    return {q: Agents(available[q], slots[q], on_duty[q]) for q in on_duty}


async def queue_sums(
    conn: AsyncConnection, sel: Selection, queues: list[str] | None, by_queue: bool
) -> list[QueueSums]:
    key = "queue_id" if by_queue else None
    select = f"{QueueCounts.summed()}, array_agg(DISTINCT queue_id) AS queues"
    where, params = _queue_filter(queues), {"queues": queues}
    rows = await per_period(conn, sel, "chat_queue_daily", select, key, where, params)
    return [QueueSums(r.period, r.key, QueueCounts.of(r), frozenset(r.queues)) for r in rows]


async def wait_p90(
    conn: AsyncConnection, sel: Selection, queues: list[str] | None, by_queue: bool
) -> dict[tuple[str, str | None], float]:
    columns, group = sel.grouping("ended_day", "queue_id" if by_queue else None)
    rows = await conn.execute(
        text(
            f"SELECT {columns}, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY wait_ms) / 1000.0 AS p90 "
            "FROM chat_visits WHERE outcome = 'answered' AND ended_day BETWEEN :first AND :last"
            f"{_queue_filter(queues)} GROUP BY {group}"
        ),
        {"first": sel.first, "last": sel.last, "queues": queues},
    )
    return {(r.period, r.key): r.p90 for r in rows}


async def bot_sums(conn: AsyncConnection, sel: Selection) -> dict[str, BotCounts]:
    """Per period: the chatbot's conversations (county-wide: they belong to no queue)."""
    rows = await conn.execute(
        text(
            f"SELECT {sel.period_sql('day')} AS period, {BotCounts.summed()} "
            "FROM chat_bot_daily "
            "WHERE day BETWEEN :first AND :last GROUP BY period"
        ),
        {"first": sel.first, "last": sel.last},
    )
    return {r.period: BotCounts.of(r) for r in rows}
