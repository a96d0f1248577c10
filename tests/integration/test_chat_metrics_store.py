"""chat_metrics against a real PostgreSQL: stored figures, late events, live state, restore."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.chat_metrics.exports import ChatExports, wait_histogram
from services.chat_metrics.figures import QUEUE_MEASURES
from services.chat_metrics.live import QueueNow
from services.chat_metrics.queues import QueueRules
from services.chat_metrics.service import ChatMetrics
from services.common.registry import load_registry
from tests.support.apply import apply_batch
from tests.support.chat_events import (
    SCENARIO_BOT,
    SCENARIO_Q1,
    SCENARIO_Q2,
    at,
    chat,
    scenario,
)
from tests.support.infra import fresh_database

DAY = date(2025, 11, 3)
REGISTRY = """
service_areas: [{id: sa, name: Area}]
units: [{id: u, name: Unit, service_area: sa}]
queues:
  - {id: q1, name: Queue 1, unit: u}
  - {id: q2, name: Queue 2, unit: u}
  - {id: day-queue, name: Day, unit: u, opening_hours: {mon-fri: "08:00-16:00"}, stale_after: 2h}
"""
WAIT = wait_histogram([60])


@pytest.fixture
def domain(tmp_path: Path) -> ChatMetrics:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    rules = QueueRules(load_registry(path), ZoneInfo("Europe/Helsinki"))
    return ChatMetrics(rules, ChatExports(WAIT))


async def daily(engine: AsyncEngine, queue: str, day: date = DAY) -> dict[str, int]:
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    text(
                        f"SELECT {', '.join(QUEUE_MEASURES)} FROM chat_queue_daily "
                        "WHERE queue_id = :q AND day = :d"
                    ),
                    {"q": queue, "d": day},
                )
            )
            .mappings()
            .one()
        )
    return dict(row)


async def bot_daily(engine: AsyncEngine, day: date = DAY) -> dict[str, int]:
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    text("SELECT sessions, resolved FROM chat_bot_daily WHERE day = :d"), {"d": day}
                )
            )
            .mappings()
            .one()
        )
    return dict(row)


async def test_scenario_in_batches_stores_the_hand_computed_figures(
    engine: AsyncEngine, domain: ChatMetrics
) -> None:
    events = scenario()
    for batch in (events[:5], events[5:11], events[11:]):
        await apply_batch(engine, domain, batch)
    assert await daily(engine, "q1") == SCENARIO_Q1
    assert await daily(engine, "q2") == SCENARIO_Q2
    assert await bot_daily(engine) == SCENARIO_BOT


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_any_order_batching_and_duplicates_store_the_same_figures(
    postgres_server: str, domain: ChatMetrics, seed: int
) -> None:
    engine = create_async_engine(await fresh_database(postgres_server))
    rng = random.Random(seed)
    events = scenario()
    stream = events + rng.sample(events, 8)
    rng.shuffle(stream)
    cuts = sorted(rng.sample(range(1, len(stream)), 4))
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        await apply_batch(engine, domain, stream[start:end])
    assert await daily(engine, "q1") == SCENARIO_Q1
    assert await daily(engine, "q2") == SCENARIO_Q2
    assert await bot_daily(engine) == SCENARIO_BOT
    await engine.dispose()


async def test_a_late_answer_takes_back_a_timeout(engine: AsyncEngine, domain: ChatMetrics) -> None:
    await apply_batch(
        engine,
        domain,
        [
            chat("chat.queued", at(3, "12:00:00"), contact_id="z", queue_id="q1"),
            chat(
                "chat.abandoned", at(3, "16:00:00"), contact_id="z", queue_id="q1", reason="timeout"
            ),
        ],
    )
    before = await daily(engine, "q1")
    assert (before["abandoned"], before["timed_out"], before["answered"]) == (1, 1, 0)
    await apply_batch(
        engine,
        domain,
        [
            chat("chat.answered", at(3, "12:00:40"), contact_id="z", queue_id="q1"),
        ],
    )
    after = await daily(engine, "q1")
    assert after == dict.fromkeys(QUEUE_MEASURES, 0) | {
        "offered": 1,
        "answered": 1,
        "answered_within_sl": 1,
        "answered_wait_ms": 40_000,
    }


async def test_live_state_waiting_active_agents_and_restore(
    engine: AsyncEngine, domain: ChatMetrics, tmp_path: Path
) -> None:
    await apply_batch(
        engine,
        domain,
        [
            chat("chat.queued", at(3, "10:00:00"), contact_id="w1", queue_id="q1"),
            chat("chat.queued", at(3, "10:01:00"), contact_id="w2", queue_id="q1"),
            chat("chat.queued", at(3, "10:02:00"), contact_id="w3", queue_id="q2"),
            chat("chat.answered", at(3, "10:03:00"), contact_id="w3", queue_id="q2"),
            chat(
                "agent.status",
                at(3, "09:00:00"),
                agent_id="a1",
                status="available",
                queue_ids=["q1", "q2"],
                capacity=3,
            ),
            chat(
                "agent.status",
                at(3, "09:00:00"),
                agent_id="a2",
                status="available",
                queue_ids=["q1"],
                capacity=2,
            ),
            chat("agent.status", at(3, "09:30:00"), agent_id="a2", status="away", queue_ids=["q1"]),
        ],
        partition=2,
    )
    await apply_batch(
        engine,
        domain,
        [  # an older status of a2, arriving late: ignored
            chat(
                "agent.status",
                at(3, "09:10:00"),
                agent_id="a2",
                status="available",
                queue_ids=["q1"],
                capacity=2,
            ),
        ],
        partition=2,
    )
    now = at(3, "10:05:00")
    expected = {
        "q1": QueueNow(
            waiting=2,
            oldest_wait_seconds=300.0,
            active=0,
            agents_available=1,
            capacity_slots=3,
            professionals_on_duty=1,  # a1; a2 went away
        ),
        "q2": QueueNow(
            waiting=0,
            oldest_wait_seconds=0.0,
            active=1,
            agents_available=1,
            capacity_slots=3,
            professionals_on_duty=1,
        ),
        "day-queue": QueueNow(),
    }
    assert domain.live.queues(now, domain.rules.known()) == expected

    other = ChatMetrics(domain.rules, ChatExports(WAIT))
    async with engine.connect() as conn:
        await other.restore(conn, [2])
    assert other.live.queues(now, other.rules.known()) == expected
    async with engine.connect() as conn:
        await other.restore(conn, [0, 1])
    other.release([2])
    assert other.live.queues(now, ["q1"]) == {"q1": QueueNow()}


async def test_stale_clients_time_out_at_stale_after_or_closing(
    engine: AsyncEngine, domain: ChatMetrics
) -> None:
    await apply_batch(
        engine,
        domain,
        [
            chat("chat.queued", at(3, "09:00:00"), contact_id="s1", queue_id="q1"),
            chat("chat.queued", at(3, "15:30:00"), contact_id="s2", queue_id="day-queue"),
            chat("chat.queued", at(3, "10:00:00"), contact_id="s3", queue_id="day-queue"),
            chat("chat.queued", at(3, "15:00:00"), contact_id="s4", queue_id="unknown-queue"),
        ],
    )
    due = {(e.data.contact_id, e.time) for e in domain.timeouts(at(3, "16:00:00"))}
    # s1: 4 h default stale_after -> 13:00. s2: the queue closes at 16:00. s3: stale 2 h.
    assert due == {("s1", at(3, "13:00:00")), ("s2", at(3, "16:00:00")), ("s3", at(3, "12:00:00"))}
    events = domain.timeouts(at(3, "16:00:00"))
    assert all(e.data.reason == "timeout" and e.source == "kanava/chat_metrics" for e in events)
    assert [e.id for e in events] == [e.id for e in domain.timeouts(at(3, "17:00:00"))][:3]
    await apply_batch(engine, domain, events)
    assert (await daily(engine, "q1"))["timed_out"] == 1
    assert (await daily(engine, "day-queue"))["timed_out"] == 2
    late = {e.data.contact_id for e in domain.timeouts(at(3, "19:00:01"))}
    assert late == {"s4"}


async def test_day_figures_view_gives_the_ratios_of_spec_4(
    engine: AsyncEngine, domain: ChatMetrics
) -> None:
    """q1: SL 1/(2+2-1); abandon rate (2-1)/3; ASA (45+90)/2; waits 45 and 90 s:
    p50 67.5, p90 45 + 0.9 x 45 = 85.5 (linear interpolation); AHT 600; resolved 1 of 2.
    q2: one answer after 30 s, closed after 720 s with resolved unknown."""
    await apply_batch(engine, domain, scenario())
    async with engine.connect() as conn:
        rows = {
            row["queue_id"]: dict(row)
            for row in (
                await conn.execute(
                    text(
                        "SELECT queue_id, service_level, abandon_rate, asa_seconds, "
                        "wait_p50_seconds, wait_p90_seconds, aht_seconds, resolved_rate "
                        "FROM chat_queue_day_figures WHERE day = :d"
                    ),
                    {"d": DAY},
                )
            ).mappings()
        }
    assert rows == {
        "q1": {
            "queue_id": "q1",
            "service_level": 1 / 3,
            "abandon_rate": 1 / 3,
            "asa_seconds": 67.5,
            "wait_p50_seconds": 67.5,
            "wait_p90_seconds": 85.5,
            "aht_seconds": 600,
            "resolved_rate": 0.5,
        },
        "q2": {
            "queue_id": "q2",
            "service_level": 1.0,
            "abandon_rate": 0.0,
            "asa_seconds": 30,
            "wait_p50_seconds": 30,
            "wait_p90_seconds": 30,
            "aht_seconds": 720,
            "resolved_rate": None,
        },
    }
