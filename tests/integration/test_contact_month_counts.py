"""Monthly contact counts (`contact.month_counted`) in contact_metrics against a real
PostgreSQL: stored apart from the recorded contacts, one row per natural key, the latest count
wins whatever the order; values worked out by hand."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contact_metrics.service import ContactMetrics
from tests.integration.test_contact_metrics_store import daily, domain
from tests.support.apply import apply_batch
from tests.support.chat_events import at
from tests.support.contact_events import contact, month_count

__all__ = ["domain"]  # the fixture


async def month_counts(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT month, unit_id, channel, export, service_area, contacts, event_id "
                "FROM contact_month_counts ORDER BY month, unit_id, channel, export"
            )
        )
        return [tuple(r) for r in rows]


async def test_counts_are_stored_apart_from_the_recorded_contacts(
    engine: AsyncEngine, domain: ContactMetrics
) -> None:
    await apply_batch(
        engine,
        domain,
        [
            month_count("u1", "in_person", "2024-11", 1200, at(3, "09:00:00"), "m1"),
            month_count("u1", "chat", "2024-11", 300, at(3, "09:00:00"), "m2"),
            month_count("u9", "phone", "2024-10", 0, at(3, "09:00:00"), "m3", service_area="x"),
            contact("c1", "u1", "video", at(3, "10:00:00"), "e1"),
        ],
    )
    nov, oct_ = date(2024, 11, 1), date(2024, 10, 1)
    assert await month_counts(engine) == [
        (oct_, "u9", "phone", "avohilmo-2024", "x", 0, "m3"),  # u9 not in the registry
        (nov, "u1", "chat", "avohilmo-2024", "sa1", 300, "m2"),
        (nov, "u1", "in_person", "avohilmo-2024", "sa1", 1200, "m1"),
    ]
    assert await daily(engine) == [(date(2025, 11, 3), "u1", "sa1", "video", "", "", "", 1)]
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM contact_records")) == 1


async def test_a_count_sent_again_replaces_the_one_before_whatever_the_order(
    engine: AsyncEngine, domain: ContactMetrics
) -> None:
    counts = [
        month_count("u1", "chat", "2024-11", 300, at(3, "09:00:00"), "first"),
        month_count("u1", "chat", "2024-11", 310, at(4, "09:00:00"), "corrected"),
        month_count("u1", "chat", "2024-11", 290, at(2, "09:00:00"), "older"),
        month_count("u1", "chat", "2024-11", 300, at(3, "09:00:00"), "first"),  # a duplicate
        month_count("u1", "chat", "2024-11", 7, at(1, "09:00:00"), "other", export="kanta"),
    ]
    for seed in range(3):
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE contact_month_counts"))
        random.Random(seed).shuffle(counts)
        for n in range(0, len(counts), 2):
            await apply_batch(engine, domain, counts[n : n + 2], group=f"g{seed}")
        # the latest count of each export's key, never a sum of counts of one key
        assert await month_counts(engine) == [
            (date(2024, 11, 1), "u1", "chat", "avohilmo-2024", "sa1", 310, "corrected"),
            (date(2024, 11, 1), "u1", "chat", "kanta", "sa1", 7, "other"),
        ]


async def test_in_one_batch_the_latest_count_of_a_key_wins(
    engine: AsyncEngine, domain: ContactMetrics
) -> None:
    same_time = at(5, "12:00:00")
    await apply_batch(
        engine,
        domain,
        [
            month_count("u2", "video", "2025-01", 12, same_time, "b"),
            month_count("u2", "video", "2025-01", 11, same_time, "a"),  # same time, smaller id
            month_count("u2", "video", "2025-01", 10, at(4, "12:00:00"), "z"),  # earlier
        ],
    )
    assert await month_counts(engine) == [
        (date(2025, 1, 1), "u2", "video", "avohilmo-2024", "sa1", 12, "b")
    ]
