"""A simulated month through pathway_metrics and contact_metrics: the per-day and per-month
figures they keep equal an independent recount, in SQL over the stored facts and in Python
over the events as produced."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.registry import load_registry
from services.common.settings import DEFAULT_DIGITAL_CHANNELS, PROJECT_ROOT
from services.contact_metrics.service import ContactMetrics
from services.pathway_metrics.service import PathwayMetrics
from services.simulator.contacts import simulate_contacts
from services.simulator.pathways import simulate_pathways
from tests.support.apply import apply_batch

HELSINKI = ZoneInfo("Europe/Helsinki")
REGISTRY = load_registry(PROJECT_ROOT / "infra" / "registry" / "demo.yaml")
OCTOBER = datetime(2025, 10, 1, tzinfo=HELSINKI), datetime(2025, 11, 1, tzinfo=HELSINKI)


async def apply_all(engine: AsyncEngine, domain: Any, events: list[Any]) -> None:
    for n in range(0, len(events), 5000):
        await apply_batch(engine, domain, events[n : n + 5000], partition=(n // 5000) % 6)


async def rows(engine: AsyncEngine, sql: str) -> Counter[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return Counter({tuple(r[:-1]): r[-1] for r in await conn.execute(text(sql)) if r[-1]})


def local_day(moment: datetime) -> date:
    return moment.astimezone(HELSINKI).date()


async def test_a_month_of_contacts_equals_a_recount(engine: AsyncEngine) -> None:
    events: list[Any] = list(simulate_contacts(REGISTRY, *OCTOBER, 5, HELSINKI))
    domain = ContactMetrics(REGISTRY, HELSINKI, DEFAULT_DIGITAL_CHANNELS)
    await apply_all(engine, domain, events)

    dimensions = "day, unit_id, service_area, channel, contact_mode_code, age_band, municipality"
    stored = await rows(engine, f"SELECT {dimensions}, contacts FROM contact_daily")
    recount = await rows(
        engine, f"SELECT {dimensions}, count(*) FROM contact_records GROUP BY {dimensions}"
    )
    assert stored == recount

    produced = Counter((local_day(e.time), e.data.unit_id, e.data.channel) for e in events)
    by_channel = await rows(
        engine,
        "SELECT day, unit_id, channel, sum(contacts) FROM contact_daily GROUP BY 1, 2, 3",
    )
    assert by_channel == produced

    month = await rows(
        engine,
        "SELECT to_char(day, 'YYYY-MM'), sum(contacts), "
        "sum(contacts) FILTER (WHERE channel = ANY(ARRAY['video', 'chat', 'message', "
        "'e_service', 'pathway'])) FROM contact_daily GROUP BY 1",
    )
    digital = sum(1 for e in events if e.data.channel in DEFAULT_DIGITAL_CHANNELS)
    assert month == Counter({("2025-10", len(events)): digital})


_FIRST_START = """
SELECT DISTINCT ON (enrolment_id) enrolment_id, time, pathway_id, start_mode
FROM pathway_events WHERE type = 'pathway.started' ORDER BY enrolment_id, time, event_id
"""
_FIRST_END = """
SELECT DISTINCT ON (enrolment_id) enrolment_id, time, type
FROM pathway_events WHERE type IN ('pathway.completed', 'pathway.discontinued')
ORDER BY enrolment_id, time, event_id
"""


async def test_a_month_of_pathways_equals_a_recount(engine: AsyncEngine) -> None:
    events: list[Any] = list(simulate_pathways(REGISTRY, *OCTOBER, 5, HELSINKI))
    domain = PathwayMetrics(REGISTRY, HELSINKI)
    await apply_all(engine, domain, events)
    day = "(time AT TIME ZONE 'Europe/Helsinki')::date"

    starts = await rows(
        engine,
        "SELECT day, pathway_id, start_mode, sum(starts) FROM pathway_daily GROUP BY 1, 2, 3",
    )
    assert starts == await rows(
        engine,
        f"SELECT {day}, pathway_id, start_mode, count(*) FROM ({_FIRST_START}) s GROUP BY 1, 2, 3",
    )
    ends = await rows(
        engine,
        "SELECT day, pathway_id, 'pathway.completed', sum(completions) FROM pathway_daily "
        "GROUP BY 1, 2 UNION ALL "
        "SELECT day, pathway_id, 'pathway.discontinued', sum(discontinued) FROM pathway_daily "
        "GROUP BY 1, 2",
    )
    assert ends == await rows(
        engine,
        f"SELECT ({day.replace('time', 'e.time')}), coalesce(s.pathway_id, ''), e.type, count(*) "
        f"FROM ({_FIRST_END}) e LEFT JOIN ({_FIRST_START}) s USING (enrolment_id) "
        "GROUP BY 1, 2, 3",
    )
    tasks = await rows(
        engine, "SELECT day, pathway_id, sum(tasks_completed) FROM pathway_daily GROUP BY 1, 2"
    )
    assert tasks == await rows(
        engine,
        f"SELECT ({day.replace('time', 't.time')}), coalesce(s.pathway_id, ''), count(*) "
        f"FROM pathway_events t LEFT JOIN ({_FIRST_START}) s USING (enrolment_id) "
        "WHERE t.type = 'pathway.task_completed' GROUP BY 1, 2",
    )

    # per month, from the events as produced: every start and thumb of October is counted
    month = await rows(
        engine,
        "SELECT to_char(day, 'YYYY-MM'), sum(starts), sum(thumbs_up), sum(thumbs_down) "
        "FROM pathway_daily GROUP BY 1",
    )
    produced = Counter(e.type for e in events)
    thumbs = Counter(e.data.thumb for e in events if e.type == "pathway.feedback")
    assert thumbs["down"] > 0
    assert month == Counter(
        {("2025-10", produced["pathway.started"], thumbs["up"]): thumbs["down"]}
    )
    active = sum(sum(c.values()) for c in domain.active.values())
    async with engine.connect() as conn:
        stored_active = await conn.scalar(
            text(
                "SELECT count(*) FROM pathway_enrolments "
                "WHERE started_at IS NOT NULL AND ended_at IS NULL"
            )
        )
    assert active == stored_active
