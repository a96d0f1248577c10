"""pathway_metrics against a real PostgreSQL: per-day figures worked out by hand, a start that
arrives after its enrolment's task, duplicates, any order and batching, active counts."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.registry import load_registry
from services.pathway_metrics.enrolments import MEASURES
from services.pathway_metrics.service import PathwayMetrics
from tests.support.apply import apply_batch
from tests.support.chat_events import at
from tests.support.pathway_events import pathway

REGISTRY = """
service_areas: [{id: sa1, name: Area 1}, {id: sa2, name: Area 2}]
pathways:
  - {id: astma, name: Astma, kind: professional, platform: oma, service_area: sa1}
  - {id: nikotiini, name: Nikotiini, kind: self_care, platform: hva, service_area: sa2}
  - {id: selkee, name: Selkee suunta, kind: hybrid, platform: hva, service_area: sa2}
"""
D3, D4, D5 = date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 5)
ASTMA = ("astma", "professional", "oma", "sa1", "u1", "professional")
NIKOTIINI = ("nikotiini", "self_care", "hva", "sa2", "", "self")
SELKEE = ("selkee", "hybrid", "hva", "sa2", "", "booking")


@pytest.fixture
def domain(tmp_path: Path) -> PathwayMetrics:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    return PathwayMetrics(load_registry(path), ZoneInfo("Europe/Helsinki"))


def started(enrolment: str, pathway_id: str, when: Any, mode: str, **data: Any) -> Any:
    return pathway("started", enrolment, when, pathway_id=pathway_id, start_mode=mode, **data)


def events() -> list[Any]:
    return [
        started("e1", "astma", at(3, "09:00:00"), "professional", unit_id="u1"),
        pathway("task_completed", "e1", at(3, "10:00:00"), task="mittaus"),
        pathway("task_completed", "e1", at(4, "10:00:00"), task="mittaus"),
        pathway("completed", "e1", at(5, "12:00:00"), event_id="e1-done"),
        pathway("feedback", "e1", at(5, "12:05:00"), thumb="up"),
        started("e2", "nikotiini", at(3, "11:00:00"), "self"),
        pathway("discontinued", "e2", at(4, "09:00:00"), reason="no_show"),
        pathway("feedback", "e2", at(4, "09:05:00"), thumb="down"),
        pathway("completed", "e2", at(4, "10:00:00")),  # after its end: ignored
        pathway("task_completed", "e3", at(3, "12:00:00")),
        started("e3", "nikotiini", at(3, "11:30:00"), "self"),
        started("e4", "selkee", at(3, "13:00:00"), "booking"),
        pathway("completed", "e1", at(5, "12:00:00"), event_id="e1-done"),  # duplicate
    ]


EXPECTED = {
    (D3, *ASTMA): {"starts": 1, "tasks_completed": 1},
    (D3, *NIKOTIINI): {"starts": 2, "tasks_completed": 1},
    (D3, *SELKEE): {"starts": 1},
    (D4, *ASTMA): {"tasks_completed": 1},
    (D4, *NIKOTIINI): {"discontinued": 1, "thumbs_down": 1},
    (D5, *ASTMA): {"completions": 1, "thumbs_up": 1},
}


async def daily(engine: AsyncEngine) -> dict[tuple[Any, ...], dict[str, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT day, pathway_id, kind, platform, service_area, unit_id, start_mode, "
                f"{', '.join(MEASURES)} FROM pathway_daily"
            )
        )
        found = {}
        for row in rows:
            measures = {m: n for m, n in zip(MEASURES, row[7:], strict=True) if n}
            if measures:
                found[tuple(row[:7])] = measures
        return found


async def test_figures_worked_by_hand(engine: AsyncEngine, domain: PathwayMetrics) -> None:
    await apply_batch(engine, domain, events()[:10])  # e3's task before its start
    assert (await daily(engine))[(D3, "", "", "", "", "", "")] == {"tasks_completed": 1}
    await apply_batch(engine, domain, events()[10:])
    assert await daily(engine) == EXPECTED
    assert sum(domain.active.values(), Counter()) == Counter({"nikotiini": 1, "selkee": 1})


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_any_order_and_batching_gives_the_same_figures(
    engine: AsyncEngine, domain: PathwayMetrics, seed: int
) -> None:
    base = events()
    shuffled = base + base[3:6]  # and more duplicates
    rng = random.Random(seed)
    rng.shuffle(shuffled)
    while shuffled:
        size = rng.randint(1, 4)
        await apply_batch(engine, domain, shuffled[:size], partition=rng.randrange(2))
        shuffled = shuffled[size:]
    assert await daily(engine) == EXPECTED


async def test_active_counts_are_restored_per_partition(
    engine: AsyncEngine, domain: PathwayMetrics, tmp_path: Path
) -> None:
    await apply_batch(engine, domain, events()[:6], partition=0)  # e1 done, e2 active
    await apply_batch(engine, domain, events()[10:12], partition=3)  # e3, e4 active
    restarted = PathwayMetrics(load_registry(tmp_path / "registry.yaml"), domain.tz)
    async with engine.connect() as conn:
        await restarted.restore(conn, [0, 3, 5])
    assert restarted.active == {
        0: Counter({"nikotiini": 1}),
        3: Counter({"nikotiini": 1, "selkee": 1}),
        5: Counter(),
    }
    restarted.release([3])
    assert list(restarted.active) == [0, 5]


async def test_the_share_still_active_30_days_after_start(
    engine: AsyncEngine, domain: PathwayMetrics
) -> None:
    recent = started("e9", "selkee", at(3, "10:00:00").replace(year=2099), "self")
    await apply_batch(engine, domain, [*events(), recent])
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pathway_id, day, starts, active_after_30d "
                "FROM pathway_active_after_30d ORDER BY pathway_id"
            )
        )
        found = [tuple(r) for r in rows]
    # e1 completed after 2 days, e2 discontinued after 1; e3 and e4 still active; e9 too new
    assert found == [("astma", D3, 1, 0), ("nikotiini", D3, 2, 1), ("selkee", D3, 1, 1)]
