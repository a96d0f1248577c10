"""A simulated week through Kafka and the chat_metrics process: the stored per-day figures
equal a recount of the stored contact facts (queue visits), done here independently."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.chat_metrics.figures import QUEUE_MEASURES
from services.common.producer import new_producer
from services.common.registry import load_registry
from services.common.settings import Settings
from services.simulator.run import backfill
from tests.integration.test_chat_metrics_service import chat_metrics
from tests.support.harness import wait_consumed

HELSINKI = ZoneInfo("Europe/Helsinki")
WEEK_END = datetime(2025, 11, 10, 0, 0, tzinfo=HELSINKI)  # Mon 3 to Sun 9 November 2025


def recount(visits: list[Any]) -> Counter[tuple[str, date, str]]:
    """The figures of docs/metrics.md counted straight from the visit rows, one rule per line."""
    figures: Counter[tuple[str, date, str]] = Counter()
    for v in visits:
        q = v.queue_id
        figures[(q, v.entered_day, "offered")] += 1
        figures[(q, v.entered_day, "bot_handovers")] += v.via_bot
        if v.outcome == "answered":
            figures[(q, v.ended_day, "answered")] += 1
            figures[(q, v.ended_day, "answered_wait_ms")] += v.wait_ms
            figures[(q, v.ended_day, "answered_within_sl")] += (
                v.wait_ms <= 1000 * v.service_level_seconds
            )
        if v.outcome == "abandoned":
            figures[(q, v.ended_day, "abandoned")] += 1
            figures[(q, v.ended_day, "short_abandoned")] += (
                v.wait_ms < 1000 * v.short_abandon_seconds
            )
            figures[(q, v.ended_day, "timed_out")] += v.abandon_reason == "timeout"
        if v.outcome == "transferred":
            figures[(q, v.ended_day, "transferred_out")] += 1
        if v.closed_by == "closed":
            closed_day = v.closed_at.astimezone(HELSINKI).date()
            figures[(q, closed_day, "closed")] += 1
            figures[(q, closed_day, "handle_ms")] += v.handle_ms
            figures[(q, closed_day, "resolved_known")] += v.resolved is not None
            figures[(q, closed_day, "resolved_true")] += v.resolved is True
    return +figures


async def rows(engine: AsyncEngine, sql: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text(sql)))


async def test_a_simulated_week_stores_daily_figures_equal_to_a_recount_of_the_visits(
    own_broker: str, engine: AsyncEngine, database_url: str
) -> None:
    registry_file = Settings().registry_file
    producer = new_producer(own_broker)
    await producer.start()
    try:
        produced = await backfill(
            producer,
            load_registry(registry_file),
            HELSINKI,
            days=7,
            seed=42,
            end=WEEK_END,
            key="test-key",
        )
    finally:
        await producer.stop()
    service = chat_metrics(own_broker, database_url, registry_file)
    service.start()
    await wait_consumed(engine, "chat_metrics", produced.chat)
    assert service.stop() == 0

    daily = await rows(engine, "SELECT * FROM chat_queue_daily")
    stored: Counter[tuple[str, date, str]] = Counter(
        {
            (row.queue_id, row.day, measure): getattr(row, measure)
            for row in daily
            for measure in QUEUE_MEASURES
        }
    )
    visits = await rows(engine, "SELECT * FROM chat_visits")
    assert +stored == recount(visits)

    offered = sum(n for (_, _, measure), n in stored.items() if measure == "offered")
    assert 600 <= offered <= 1000, "about 150 entries on each of the five weekdays"
    assert {row.day for row in daily} <= {date(2025, 11, d) for d in range(3, 10)}
    assert [v for v in visits if v.outcome == "waiting"] == []
    contacts = await rows(engine, "SELECT entry, started_at, bot_resolved_at FROM chat_contacts")
    bots = await rows(engine, "SELECT sum(sessions) AS s, sum(resolved) AS r FROM chat_bot_daily")
    assert bots[0].s == sum(c.entry == "bot" for c in contacts)
    assert bots[0].r == sum(c.bot_resolved_at is not None for c in contacts)
