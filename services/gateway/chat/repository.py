"""SQL of the chat endpoints: the same tables chat_metrics keeps."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.periods import Selection
from services.gateway.sql import sums

_QUEUE_SUMS = sums(
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "transferred_out",
    "closed",
    "handle_ms",
    "resolved_true",
    "resolved_known",
    "bot_handovers",
    within_sl="answered_within_sl",
    wait_ms="answered_wait_ms",
)


def _queue_filter(queues: list[str] | None, column: str = "queue_id") -> str:
    return "" if queues is None else f" AND {column} = ANY(CAST(:queues AS text[]))"


async def open_visits(conn: AsyncConnection) -> dict[str, tuple[int, datetime | None, int]]:
    """Per queue: (waiting, oldest entry of a waiting visit, active conversations)."""
    rows = await conn.execute(
        text(
            "SELECT queue_id, count(*) FILTER (WHERE outcome = 'waiting') AS waiting, "
            "min(entered_at) FILTER (WHERE outcome = 'waiting') AS oldest, "
            "count(*) FILTER (WHERE outcome = 'answered') AS active "
            "FROM chat_visits WHERE outcome = 'waiting' "
            "OR (outcome = 'answered' AND closed_at IS NULL) GROUP BY queue_id"
        )
    )
    return {r.queue_id: (r.waiting, r.oldest, r.active) for r in rows}


async def available_agents(conn: AsyncConnection) -> dict[str, tuple[int, int]]:
    """Per queue: (available professionals, their summed capacity)."""
    rows = await conn.execute(
        text("SELECT queue_ids, capacity FROM chat_agents WHERE status = 'available'")
    )
    agents: Counter[str] = Counter()
    slots: Counter[str] = Counter()
    for r in rows:
        for queue in json.loads(r.queue_ids):
            agents[queue] += 1
            slots[queue] += r.capacity
    return {q: (agents[q], slots[q]) for q in agents}


async def service_levels(conn: AsyncConnection, day: date) -> dict[str, float]:
    rows = await conn.execute(
        text(
            "SELECT queue_id, answered_within_sl::float8 "
            "/ NULLIF(answered + abandoned - short_abandoned, 0) AS sl "
            "FROM chat_queue_daily WHERE day = :day"
        ),
        {"day": day},
    )
    return {r.queue_id: r.sl for r in rows if r.sl is not None}


async def queue_sums(
    conn: AsyncConnection, sel: Selection, queues: list[str] | None, by_queue: bool
) -> list[Any]:
    columns, group = sel.grouping("day", "queue_id" if by_queue else None)
    return list(
        await conn.execute(
            text(
                f"SELECT {columns}, {_QUEUE_SUMS}, array_agg(DISTINCT queue_id) AS queues "
                "FROM chat_queue_daily WHERE day BETWEEN :first AND :last"
                f"{_queue_filter(queues)} GROUP BY {group} ORDER BY {group}"
            ),
            {"first": sel.first, "last": sel.last, "queues": queues},
        )
    )


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


async def bot_sums(conn: AsyncConnection, sel: Selection) -> dict[str, tuple[int, int]]:
    rows = await conn.execute(
        text(
            f"SELECT {sel.period_sql('day')} AS period, {sums('sessions', 'resolved')} "
            "FROM chat_bot_daily "
            "WHERE day BETWEEN :first AND :last GROUP BY period"
        ),
        {"first": sel.first, "last": sel.last},
    )
    return {r.period: (r.sessions, r.resolved) for r in rows}
