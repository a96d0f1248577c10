"""contact_metrics against a real PostgreSQL: per-day counts by every dimension, corrections,
late and repeated events, the digital share; values worked out by hand."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.registry import load_registry
from services.common.settings import DEFAULT_DIGITAL_CHANNELS
from services.contact_metrics.exports import Share
from services.contact_metrics.service import ContactMetrics
from tests.support.apply import apply_batch
from tests.support.chat_events import at
from tests.support.contact_events import contact

REGISTRY = """
service_areas: [{id: sa1, name: Area 1}]
units: [{id: u1, name: Unit 1, service_area: sa1}, {id: u2, name: Unit 2, service_area: sa1}]
"""


@pytest.fixture
def domain(tmp_path: Path) -> ContactMetrics:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    helsinki = ZoneInfo("Europe/Helsinki")
    return ContactMetrics(load_registry(path), helsinki, DEFAULT_DIGITAL_CHANNELS)


async def daily(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT day, unit_id, service_area, channel, contact_mode_code, age_band, "
                "municipality, contacts FROM contact_daily WHERE contacts <> 0 "
                "ORDER BY day, unit_id, channel, age_band"
            )
        )
        return [tuple(r) for r in rows]


def week() -> list[Any]:
    return [
        contact("c1", "u1", "in_person", at(3, "09:00:00"), "e1", age_band="75+"),
        contact("c2", "u1", "chat", at(3, "10:00:00"), "e2", age_band="30-44"),
        contact("c3", "u1", "phone", at(3, "11:00:00"), "e3", contact_mode_code="R52"),
        contact("c4", "u2", "message", at(3, "23:30:00"), "e4", municipality="kotka"),
        # 4 Nov 00:10 Helsinki is 3 Nov 22:10 UTC: a local day of its own
        contact("c5", "u2", "video", at(4, "00:10:00"), "e5", service_area="other-sa"),
    ]


async def test_contacts_count_by_every_dimension_and_local_day(
    engine: AsyncEngine, domain: ContactMetrics
) -> None:
    await apply_batch(engine, domain, week())
    d3, d4 = date(2025, 11, 3), date(2025, 11, 4)
    assert await daily(engine) == [
        (d3, "u1", "sa1", "chat", "", "30-44", "", 1),
        (d3, "u1", "sa1", "in_person", "", "75+", "", 1),
        (d3, "u1", "sa1", "phone", "R52", "", "", 1),
        (d3, "u2", "sa1", "message", "", "", "kotka", 1),
        (d4, "u2", "other-sa", "video", "", "", "", 1),
    ]


async def test_a_correction_moves_the_contact_whatever_the_order(
    engine: AsyncEngine, domain: ContactMetrics
) -> None:
    events = week()
    # c1 corrected: it was a video visit (a later record of the same contact)
    events.append(contact("c1", "u1", "video", at(3, "09:00:01"), "e1b", age_band="75+"))
    events.append(contact("c2", "u1", "chat", at(3, "10:00:00"), "e2"))  # a duplicate
    random.Random(5).shuffle(events)
    for n in range(0, len(events), 2):
        await apply_batch(engine, domain, events[n : n + 2])
    rows = await daily(engine)
    assert (date(2025, 11, 3), "u1", "sa1", "video", "", "75+", "", 1) in rows
    assert [r for r in rows if r[3] == "in_person"] == []
    assert sum(r[-1] for r in rows) == 5


async def test_shares_over_today_and_30_days(engine: AsyncEngine, domain: ContactMetrics) -> None:
    await apply_batch(engine, domain, week())
    await domain.refresh(engine, today=date(2025, 11, 4))
    # 4 Nov: u2 has one video contact (digital); 30 days: u1 1 digital (chat) of 3,
    # u2 2 digital (message, video) of 2
    assert domain.shares == {
        "u1": {"today": Share(0, 0), "30d": Share(3, 1)},
        "u2": {"today": Share(1, 1), "30d": Share(2, 2)},
    }
    async with engine.connect() as conn:
        used = await conn.scalar(text("SELECT channels FROM contact_digital_channel_sets"))
    assert used == "chat,e_service,message,pathway,video"
