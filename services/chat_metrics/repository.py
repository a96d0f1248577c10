"""SQL of chat_metrics: contact events, contacts, visits, per-day figures, agents."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat_metrics.figures import BOT_MEASURES, QUEUE_MEASURES
from services.chat_metrics.stories import ChatFact, Story, Visit
from services.common.figures import local_day
from services.common.formulas import service_level
from services.common.history import Stories
from services.common.sql import BulkInsert, CountsTable, copy_rows, fetch

STORIES = Stories(
    key="contact_id",
    facts="chat_contact_events",
    derived=("chat_visits", "chat_contacts"),
    still_open=(
        "SELECT contact_id FROM chat_visits "
        "WHERE outcome = 'waiting' OR (outcome = 'answered' AND closed_at IS NULL)"
    ),
)
"""A contact's events, visits and start; kept while a visit is still open."""

_FACT_COLUMNS = ChatFact._fields
"""The columns of `chat_contact_events`, which a ChatFact holds in this order."""
_VISIT_COLUMNS = {
    "contact_id": "text",
    "seq": "integer",
    "partition": "integer",
    "queue_id": "text",
    "entered_at": "timestamptz",
    "entered_day": "date",
    "entered_by": "text",
    "via_bot": "boolean",
    "outcome": "text",
    "ended_at": "timestamptz",
    "ended_day": "date",
    "wait_ms": "bigint",
    "abandon_reason": "text",
    "agent_id": "text",
    "closed_at": "timestamptz",
    "closed_by": "text",
    "handle_ms": "bigint",
    "resolved": "boolean",
    "service_level_seconds": "integer",
    "short_abandon_seconds": "integer",
}
_UPSERT_CONTACTS = BulkInsert(
    "chat_contacts",
    {
        "contact_id": "text",
        "partition": "integer",
        "entry": "text",
        "started_at": "timestamptz",
        "bot_resolved_at": "timestamptz",
    },
    "ON CONFLICT (contact_id) DO UPDATE SET partition = EXCLUDED.partition, "
    "entry = EXCLUDED.entry, started_at = EXCLUDED.started_at, "
    "bot_resolved_at = EXCLUDED.bot_resolved_at",
)
_QUEUE_DAILY = CountsTable("chat_queue_daily", {"queue_id": "text", "day": "date"}, QUEUE_MEASURES)
_BOT_DAILY = CountsTable("chat_bot_daily", {"day": "date"}, BOT_MEASURES)
_UPSERT_AGENTS = BulkInsert(
    "chat_agents",
    {
        "agent_id": "text",
        "partition": "integer",
        "status": "text",
        "queue_ids": "text",
        "capacity": "integer",
        "status_time": "timestamptz",
        "event_id": "text",
    },
    "ON CONFLICT (agent_id) DO UPDATE SET partition = EXCLUDED.partition, "
    "status = EXCLUDED.status, queue_ids = EXCLUDED.queue_ids, capacity = EXCLUDED.capacity, "
    "status_time = EXCLUDED.status_time, event_id = EXCLUDED.event_id "
    "WHERE (EXCLUDED.status_time, EXCLUDED.event_id) "
    "> (chat_agents.status_time, chat_agents.event_id)",
)


@dataclass(frozen=True, slots=True)
class AgentState:
    agent_id: str
    partition: int
    status: str
    queue_ids: tuple[str, ...]
    capacity: int
    status_time: datetime
    event_id: str

    def supersedes(self, other: AgentState | None) -> bool:
        """The newest status wins, ties broken by event id (as `_UPSERT_AGENTS` does)."""
        return other is None or (self.status_time, self.event_id) > (
            other.status_time,
            other.event_id,
        )


async def insert_facts(conn: AsyncConnection, facts: Sequence[ChatFact]) -> None:
    """Only events whose ids were claimed in this transaction come here: no conflicts."""
    await copy_rows(conn, "chat_contact_events", _FACT_COLUMNS, facts)


async def load_facts(conn: AsyncConnection, contacts: Collection[str]) -> dict[str, list[ChatFact]]:
    rows = await fetch(
        conn,
        f"SELECT {', '.join(_FACT_COLUMNS)} FROM chat_contact_events "
        "WHERE contact_id = ANY($1::text[])",
        list(contacts),
    )
    facts: dict[str, list[ChatFact]] = {}
    for row in rows:
        facts.setdefault(row[0], []).append(ChatFact(*row))
    return facts


async def load_stories(conn: AsyncConnection, contacts: Collection[str]) -> dict[str, Story]:
    """The stories as stored: what the figures hold for these contacts now."""
    ids = list(contacts)
    stories = {
        row[0]: Story(*row)
        for row in await fetch(
            conn,
            "SELECT contact_id, entry, started_at, bot_resolved_at FROM chat_contacts "
            "WHERE contact_id = ANY($1::text[])",
            ids,
        )
    }
    visits = await fetch(
        conn,
        f"SELECT {', '.join(_VISIT_COLUMNS)} FROM chat_visits "
        "WHERE contact_id = ANY($1::text[]) ORDER BY contact_id, seq",
        ids,
    )
    for row in visits:
        story = stories.setdefault(row["contact_id"], Story(row["contact_id"]))
        story.visits.append(
            Visit(
                seq=row["seq"],
                queue_id=row["queue_id"],
                entered_at=row["entered_at"],
                entered_by=row["entered_by"],
                via_bot=row["via_bot"],
                outcome=row["outcome"],
                ended_at=row["ended_at"],
                abandon_reason=row["abandon_reason"],
                agent_id=row["agent_id"],
                closed_at=row["closed_at"],
                resolved=row["resolved"],
                closed_by=row["closed_by"],
                service_level_seconds=row["service_level_seconds"],
                short_abandon_seconds=row["short_abandon_seconds"],
            )
        )
    return stories


async def replace_stories(
    conn: AsyncConnection,
    stories: Sequence[Story],
    partitions: Mapping[str, int],
    tz: ZoneInfo,
    stored_before: Collection[str],
) -> None:
    """Write the stories; the visits of the contacts in `stored_before` (those with stored
    visits) are deleted first, so only they need the extra statement."""
    if stored_before:
        await conn.execute(
            text("DELETE FROM chat_visits WHERE contact_id = ANY(CAST(:ids AS text[]))"),
            {"ids": list(stored_before)},
        )
    await copy_rows(
        conn,
        "chat_visits",
        list(_VISIT_COLUMNS),
        [
            (
                s.contact_id,
                v.seq,
                partitions[s.contact_id],
                v.queue_id,
                v.entered_at,
                local_day(v.entered_at, tz),
                v.entered_by,
                v.via_bot,
                v.outcome,
                v.ended_at,
                local_day(v.ended_at, tz) if v.ended_at else None,
                v.wait_ms,
                v.abandon_reason,
                v.agent_id,
                v.closed_at,
                v.closed_by,
                v.handle_ms,
                v.resolved,
                v.service_level_seconds,
                v.short_abandon_seconds,
            )
            for s in stories
            for v in s.visits
        ],
    )
    await _UPSERT_CONTACTS.run(
        conn,
        [
            (s.contact_id, partitions[s.contact_id], s.entry, s.started_at, s.bot_resolved_at)
            for s in stories
        ],
    )


async def add_queue_daily(
    conn: AsyncConnection, deltas: Mapping[tuple[str, date, str], int]
) -> None:
    await _QUEUE_DAILY.add(conn, deltas)


async def add_bot_daily(conn: AsyncConnection, deltas: Mapping[tuple[date, str], int]) -> None:
    await _BOT_DAILY.add(conn, deltas)


async def upsert_agents(conn: AsyncConnection, agents: Sequence[AgentState]) -> None:
    await _UPSERT_AGENTS.run(
        conn,
        [
            (
                a.agent_id,
                a.partition,
                a.status,
                json.dumps(a.queue_ids),
                a.capacity,
                a.status_time,
                a.event_id,
            )
            for a in agents
        ],
    )


async def open_visits(
    conn: AsyncConnection, partitions: Collection[int]
) -> list[tuple[int, str, str, datetime, str]]:
    """(partition, contact, queue, entered_at, outcome) of visits waiting or in conversation."""
    rows = await conn.execute(
        text(
            "SELECT partition, contact_id, queue_id, entered_at, outcome FROM chat_visits "
            "WHERE partition = ANY(CAST(:p AS integer[])) AND (outcome = 'waiting' OR "
            "(outcome = 'answered' AND closed_at IS NULL))"
        ),
        {"p": list(partitions)},
    )
    return [(r.partition, r.contact_id, r.queue_id, r.entered_at, r.outcome) for r in rows]


async def agents_of(conn: AsyncConnection, partitions: Collection[int]) -> list[AgentState]:
    rows = await conn.execute(
        text(
            "SELECT agent_id, partition, status, queue_ids, capacity, status_time, event_id "
            "FROM chat_agents WHERE partition = ANY(CAST(:p AS integer[]))"
        ),
        {"p": list(partitions)},
    )
    return [
        AgentState(
            r.agent_id,
            r.partition,
            r.status,
            tuple(json.loads(r.queue_ids)),
            r.capacity,
            r.status_time,
            r.event_id,
        )
        for r in rows
    ]


async def today_service_levels(conn: AsyncConnection, day: date) -> dict[str, float]:
    rows = await conn.execute(
        text(
            "SELECT queue_id, answered_within_sl, answered, abandoned, short_abandoned "
            "FROM chat_queue_daily WHERE day = :day"
        ),
        {"day": day},
    )
    levels = {
        r.queue_id: service_level(r.answered_within_sl, r.answered, r.abandoned, r.short_abandoned)
        for r in rows
    }
    return {queue: level for queue, level in levels.items() if level is not None}
