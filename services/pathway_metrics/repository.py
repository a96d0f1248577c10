"""SQL of pathway_metrics: events per enrolment, enrolments, per-day figures, active counts."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.figures import local_day
from services.common.history import Stories
from services.common.sql import BulkInsert, CountsTable, copy_rows, fetch
from services.pathway_metrics.enrolments import MEASURES, Enrolment, PathwayFact

STORIES = Stories(
    key="enrolment_id",
    facts="pathway_events",
    derived=("pathway_enrolments",),
    still_open=(
        "SELECT enrolment_id FROM pathway_enrolments "
        "WHERE started_at IS NOT NULL AND ended_at IS NULL"
    ),
)
"""An enrolment's events and what was derived from them; kept while it is active."""

ATTRIBUTES = ("pathway_id", "kind", "platform", "service_area", "unit_id", "start_mode")
_FACT_COLUMNS = PathwayFact._fields
"""event_id, type, time, the ATTRIBUTES, authenticated, task, reason, thumb."""
_DAILY = CountsTable(
    "pathway_daily", {"day": "date", **dict.fromkeys(ATTRIBUTES, "text")}, MEASURES
)
_UPSERT_ENROLMENTS = BulkInsert(
    "pathway_enrolments",
    {
        "enrolment_id": "text",
        "partition": "integer",
        **dict.fromkeys(ATTRIBUTES, "text"),
        "started_at": "timestamptz",
        "started_day": "date",
        "ended_at": "timestamptz",
        "ended_day": "date",
        "end_kind": "text",
        "tasks_completed": "integer",
        "thumbs_up": "integer",
        "thumbs_down": "integer",
    },
    "ON CONFLICT (enrolment_id) DO UPDATE SET "
    + ", ".join(
        f"{c} = EXCLUDED.{c}"
        for c in (
            "partition",
            *ATTRIBUTES,
            "started_at",
            "started_day",
            "ended_at",
            "ended_day",
            "end_kind",
            "tasks_completed",
            "thumbs_up",
            "thumbs_down",
        )
    ),
)


async def load_facts(
    conn: AsyncConnection, enrolments: Collection[str]
) -> dict[str, list[PathwayFact]]:
    rows = await fetch(
        conn,
        f"SELECT enrolment_id, {', '.join(_FACT_COLUMNS)} FROM pathway_events "
        "WHERE enrolment_id = ANY($1::text[])",
        list(enrolments),
    )
    facts: dict[str, list[PathwayFact]] = {}
    for row in rows:
        facts.setdefault(row[0], []).append(PathwayFact(*row[1:]))
    return facts


async def insert_facts(conn: AsyncConnection, facts: Sequence[tuple[str, PathwayFact]]) -> None:
    """Only events whose ids were claimed in this transaction come here: no conflicts."""
    await copy_rows(
        conn,
        "pathway_events",
        ("enrolment_id", *_FACT_COLUMNS),
        [(enrolment, *fact) for enrolment, fact in facts],  # a fact's fields in column order
    )


async def replace_enrolments(
    conn: AsyncConnection,
    enrolments: Sequence[Enrolment],
    partitions: Mapping[str, int],
    tz: ZoneInfo,
) -> None:
    await _UPSERT_ENROLMENTS.run(
        conn,
        [
            (
                e.enrolment_id,
                partitions[e.enrolment_id],
                *e.attributes,
                e.started_at,
                local_day(e.started_at, tz) if e.started_at else None,
                e.ended_at,
                local_day(e.ended_at, tz) if e.ended_at else None,
                e.end_kind,
                len(e.tasks),
                sum(1 for _, thumb in e.thumbs if thumb == "up"),
                sum(1 for _, thumb in e.thumbs if thumb == "down"),
            )
            for e in enrolments
        ],
    )


async def add_daily(conn: AsyncConnection, deltas: Mapping[tuple[object, ...], int]) -> None:
    await _DAILY.add(conn, deltas)


async def active_by_partition(
    conn: AsyncConnection, partitions: Collection[int]
) -> list[tuple[int, str, int]]:
    rows = await fetch(
        conn,
        "SELECT partition, pathway_id, count(*) FROM pathway_enrolments "
        "WHERE partition = ANY($1::int[]) AND started_at IS NOT NULL AND ended_at IS NULL "
        "GROUP BY partition, pathway_id",
        list(partitions),
    )
    return [(r[0], r[1], r[2]) for r in rows]
