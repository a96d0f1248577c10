"""Bounded storage against a real PostgreSQL: the dedupe floor, the month partitions of applied
ids, too_old events, and forgotten stories; every figure the same before and after."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka.partitioner import murmur2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.chat_metrics import repository as chat_repository
from services.chat_metrics.exports import ChatExports
from services.chat_metrics.queues import QueueRules
from services.chat_metrics.service import ChatMetrics
from services.common.bookkeeping import claim_events, save_offsets
from services.common.consumer import Consumed, Domain, E, R, Stored, apply_new
from services.common.events import CONTACT
from services.common.producer import publish, started_producer
from services.common.registry import load_registry
from services.common.retention import (
    apply_retention,
    forget_history,
    history_cutoff,
    move_floor,
)
from services.common.settings import DEFAULT_DIGITAL_CHANNELS
from services.contact_metrics import repository as contact_repository
from services.contact_metrics.service import ContactMetrics
from services.pathway_metrics import repository as pathway_repository
from services.pathway_metrics.service import PathwayMetrics
from tests.integration.test_chat_metrics_store import REGISTRY as CHAT_REGISTRY
from tests.integration.test_chat_metrics_store import WAIT, bot_daily
from tests.integration.test_chat_metrics_store import daily as chat_daily
from tests.integration.test_consumer_exactness import metric_value
from tests.integration.test_contact_metrics_store import REGISTRY as CONTACT_REGISTRY
from tests.integration.test_contact_metrics_store import daily as contact_daily
from tests.integration.test_contact_metrics_store import week
from tests.integration.test_dead_letters import read_all
from tests.integration.test_pathway_metrics_store import REGISTRY as PATHWAY_REGISTRY
from tests.integration.test_pathway_metrics_store import daily as pathway_daily
from tests.integration.test_pathway_metrics_store import events as pathway_events
from tests.support.apply import apply_batch
from tests.support.chat_events import chat, scenario
from tests.support.contact_events import contact
from tests.support.harness import consumer_service, wait_consumed

HELSINKI = ZoneInfo("Europe/Helsinki")


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


async def newest_times(engine: AsyncEngine, group: str, times: dict[int, datetime]) -> None:
    """What the consumer stores with its offsets: the newest event time per partition."""
    async with engine.begin() as conn:
        await save_offsets(conn, group, "t", dict.fromkeys(times, 1), times)


async def floor(engine: AsyncEngine) -> datetime:
    async with engine.connect() as conn:
        value: datetime = await conn.scalar(text("SELECT floor FROM dedupe_floor"))
    return value


async def partitions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.scalars(
            text(
                "SELECT child.relname FROM pg_inherits "
                "JOIN pg_class child ON child.oid = inhrelid "
                "WHERE inhparent = 'applied_events'::regclass ORDER BY child.relname"
            )
        )
        return list(rows)


async def applied(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT event_id, tableoid::regclass::text FROM applied_events ORDER BY event_id")
        )
        return [tuple(row) for row in rows]


def this_month_and_next() -> list[str]:
    now = datetime.now(UTC)
    after = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
    return [f"applied_events_{now:%Y_%m}", f"applied_events_{after:%Y_%m}"]


async def test_the_floor_trails_the_slowest_partition_by_the_horizon_to_a_month(
    engine: AsyncEngine,
) -> None:
    assert await move_floor(engine, 62) == utc(2000, 1, 1)  # nothing consumed: stays
    await newest_times(engine, "g1", {0: utc(2026, 3, 20), 1: utc(2026, 5, 2)})
    await newest_times(engine, "g2", {0: utc(2026, 6, 10)})
    # 2026-03-20 - 62 days = 2026-01-17, down to its month
    assert await move_floor(engine, 62) == utc(2026, 1, 1)
    assert await move_floor(engine, 10) == utc(2026, 3, 1)  # 2026-03-10
    assert await move_floor(engine, 200) == utc(2026, 3, 1)  # never back
    assert await floor(engine) == utc(2026, 3, 1)


async def test_months_below_the_floor_are_dropped_and_history_gets_partitions(
    engine: AsyncEngine,
) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await claim_events(
            conn,
            "g",
            [
                ("nov", utc(2025, 11, 3)),
                ("dec", utc(2025, 12, 15)),
                ("jan", utc(2026, 1, 10)),
                ("now", now),
            ],
        )
    assert await partitions(engine) == sorted(["applied_events_default", *this_month_and_next()])

    await newest_times(engine, "g", {0: utc(2026, 3, 5)})
    done = await apply_retention(engine, 40)  # 2026-03-05 - 40 days = 2026-01-24
    assert (done.floor, done.partitions_dropped, done.default_rows_deleted) == (
        utc(2026, 1, 1),
        [],
        2,
    )
    assert await partitions(engine) == sorted(
        ["applied_events_2026_01", "applied_events_default", *this_month_and_next()]
    )
    assert await applied(engine) == [
        ("jan", "applied_events_2026_01"),
        ("now", f"applied_events_{now:%Y_%m}"),
    ]

    await newest_times(engine, "g", {0: now})
    done = await apply_retention(engine, 1)
    assert done.floor == now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    assert done.partitions_dropped == ["applied_events_2026_01"]
    assert await applied(engine) == [("now", f"applied_events_{now:%Y_%m}")]


def contacts_domain(tmp_path: Path) -> ContactMetrics:
    path = tmp_path / "contacts.yaml"
    path.write_text(CONTACT_REGISTRY, encoding="utf-8")
    return ContactMetrics(load_registry(path), HELSINKI, DEFAULT_DIGITAL_CHANNELS)


async def apply(engine: AsyncEngine, domain: Domain[E, R], events: list[E]) -> Stored[E]:
    consumed = [Consumed(event, 0, n) for n, event in enumerate(events)]
    async with engine.begin() as conn:
        done, result = await apply_new(conn, "contact_metrics", domain, consumed)
    domain.committed(result)
    return done


async def test_after_retention_old_duplicates_are_too_old_and_no_figure_changes(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    domain = contacts_domain(tmp_path)
    recent_day = datetime(2026, 11, 20, 10, 0, tzinfo=HELSINKI)
    recent = [contact("r1", "u1", "chat", recent_day, "er1")]
    assert len((await apply(engine, domain, week() + recent)).fresh) == 6
    before = await contact_daily(engine)
    await newest_times(engine, "contact_metrics", {0: recent_day})

    done = await apply_retention(engine, 30)  # 2026-10-21: the floor is 2026-10-01
    assert done.floor == utc(2026, 10, 1)
    assert done.default_rows_deleted == 5  # the week of November 2025
    assert await contact_daily(engine) == before

    again = await apply(engine, domain, week() + recent)
    assert (len(again.fresh), len(again.too_old)) == (0, 5)
    late = contact("c9", "u1", "phone", datetime(2026, 9, 30, 12, 0, tzinfo=HELSINKI), "e9")
    fresh = contact("c10", "u1", "phone", datetime(2026, 10, 1, 12, 0, tzinfo=HELSINKI), "e10")
    last = await apply(engine, domain, [late, fresh])
    assert [c.event.id for c in last.too_old] == ["e9"]
    assert [c.event.id for c in last.fresh] == ["e10"]
    assert sorted(await contact_daily(engine)) == sorted(
        [*before, (fresh.time.date(), "u1", "sa1", "phone", "", "", "", 1)]
    )


async def test_an_id_sent_again_with_another_time_changes_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """Applied ids are kept with their event time (the month partitions need it); a producer
    that re-uses an id with another time is caught by the stores' own keys."""
    domain = contacts_domain(tmp_path)
    await apply(engine, domain, week())
    before = await contact_daily(engine)
    moved = week()[0].model_copy(update={"time": week()[0].time + timedelta(days=1)})
    await apply(engine, domain, [moved])
    assert await contact_daily(engine) == before


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def test_closed_chat_contacts_are_forgotten_open_ones_kept_and_figures_stay(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    path = tmp_path / "chat.yaml"
    path.write_text(CHAT_REGISTRY, encoding="utf-8")
    rules = QueueRules(load_registry(path), HELSINKI)
    domain = ChatMetrics(rules, ChatExports(WAIT))
    queued = datetime(2025, 11, 3, 9, 0, tzinfo=HELSINKI)
    waiting = chat("chat.queued", queued, contact_id="w", queue_id="q1")
    await apply_batch(engine, domain, [*scenario(), waiting])
    q1, q2, bot = (
        await chat_daily(engine, "q1"),
        await chat_daily(engine, "q2"),
        await bot_daily(engine),
    )
    facts = await count(engine, "chat_contact_events")

    forgotten = await forget_history(engine, chat_repository.STORIES, utc(2025, 12, 1))
    # c1..c6 are over: every event but w's, one row each, and their visits (c1-c4 in q1, c6
    # in q1 and after its transfer in q2; c5 ended with the bot)
    assert forgotten == {"chat_contact_events": facts - 1, "chat_visits": 6, "chat_contacts": 6}
    assert (await chat_daily(engine, "q1"), await chat_daily(engine, "q2")) == (q1, q2)
    assert await bot_daily(engine) == bot
    async with engine.connect() as conn:
        left = await conn.execute(text("SELECT contact_id, outcome FROM chat_visits"))
        assert [tuple(row) for row in left] == [("w", "waiting")]


async def test_an_answer_for_a_forgotten_contact_starts_a_new_story_on_the_same_instance(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """Retention forgets c1 by the floor, as it runs in service, while the domain that wrote
    c1 goes on: the late answer counts as a new story, with a visit inferred at the answer
    (wait 0), not as an answer to the visit c1 had (which would change nothing)."""
    path = tmp_path / "chat.yaml"
    path.write_text(CHAT_REGISTRY, encoding="utf-8")
    domain = ChatMetrics(QueueRules(load_registry(path), HELSINKI), ChatExports(WAIT))
    await apply_batch(engine, domain, scenario())
    await newest_times(engine, "chat_metrics", {0: utc(2026, 2, 15)})
    assert (await apply_retention(engine, 30)).floor == utc(2026, 1, 1)
    cutoff = await history_cutoff(engine, 1)  # 2025-12-01
    assert (await forget_history(engine, chat_repository.STORIES, cutoff))["chat_contacts"] == 6

    answered = datetime(2026, 1, 5, 10, 0, tzinfo=HELSINKI)
    late = chat("chat.answered", answered, contact_id="c1", queue_id="q1", agent_id="a1")
    await apply_batch(engine, domain, [late])
    figures = await chat_daily(engine, "q1", answered.date())
    assert (figures["offered"], figures["answered"], figures["answered_wait_ms"]) == (1, 1, 0)


async def test_ended_enrolments_are_forgotten_active_ones_kept_and_figures_stay(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    path = tmp_path / "pathways.yaml"
    path.write_text(PATHWAY_REGISTRY, encoding="utf-8")
    domain = PathwayMetrics(load_registry(path), HELSINKI)
    await apply_batch(engine, domain, pathway_events())
    figures = await pathway_daily(engine)

    forgotten = await forget_history(engine, pathway_repository.STORIES, utc(2025, 12, 1))
    # e1 ended (started, 2 tasks, completed, feedback: its duplicate was never stored) and
    # e2 (started, discontinued, feedback, a completion after its end): 9 events; e3 and e4
    # are still active
    assert forgotten == {"pathway_events": 9, "pathway_enrolments": 2}
    assert await pathway_daily(engine) == figures
    async with engine.connect() as conn:
        left = await conn.scalars(
            text("SELECT enrolment_id FROM pathway_enrolments ORDER BY enrolment_id")
        )
        assert list(left) == ["e3", "e4"]


async def test_contact_records_older_than_the_cutoff_are_forgotten(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    domain = contacts_domain(tmp_path)
    await apply_batch(engine, domain, week())
    figures = await contact_daily(engine)
    # c4 at 23:30 on 3 Nov and c5 on 4 Nov (Helsinki) are at or after 3 Nov 21:30 UTC
    forgotten = await forget_history(
        engine, contact_repository.STORIES, datetime(2025, 11, 3, 21, 30, tzinfo=UTC)
    )
    assert forgotten == {"contact_records": 3}
    assert await contact_daily(engine) == figures
    assert await forget_history(engine, contact_repository.STORIES, utc(2025, 11, 3)) == {
        "contact_records": 0
    }


async def test_the_service_drops_old_ids_and_counts_late_duplicates_as_too_old(
    own_broker: str, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(CONTACT_REGISTRY, encoding="utf-8")
    service = consumer_service(
        "contact_metrics",
        own_broker,
        database_url,
        registry,
        KANAVA_DEDUPE_HORIZON_DAYS="30",
        KANAVA_RETENTION_INTERVAL_SECONDS="0.5",
    )
    service.start()
    now = datetime.now(UTC) - timedelta(seconds=1)
    # the floor follows the partition furthest behind: every partition gets a recent contact
    recent = [contact(key, "u1", "chat", now) for key in one_key_per_partition(6)]
    try:
        await send_contacts(own_broker, week() + recent)
        await wait_consumed(engine, "contact_metrics", 11)
        figures = await contact_daily(engine)
        floor_now = (now - timedelta(days=30)).replace(day=1, hour=0, minute=0, second=0)
        await wait_floor(engine, floor_now.replace(microsecond=0))
        # the run that moved the floor drops the ids below it in a transaction of its own
        await wait_no_default_rows(engine)

        await send_contacts(own_broker, week() + recent)  # sent again, long after
        await wait_consumed(engine, "contact_metrics", 22)
        exposition = await service.metrics()
    finally:
        assert service.stop() == 0
    assert await contact_daily(engine) == figures
    counted = {
        outcome: metric_value(
            exposition, "kanava_consumer_events_total", service="contact_metrics", outcome=outcome
        )
        for outcome in ("processed", "duplicate", "too_old", "dead_lettered")
    }
    assert counted == {"processed": 11, "duplicate": 6, "too_old": 5, "dead_lettered": 0}
    dead = await read_all(own_broker, "contact.events.dlq", 5)
    assert sorted(headers["kanava-error"] for *_, headers in dead) == [b"too_old"] * 5


def one_key_per_partition(partitions: int) -> list[str]:
    """Contact ids that the producer's partitioner (murmur2) sends one to each partition."""
    chosen: dict[int, str] = {}
    n = 0
    while len(chosen) < partitions:
        key = f"r{n}"
        chosen.setdefault((murmur2(key.encode()) & 0x7FFFFFFF) % partitions, key)
        n += 1
    return [chosen[p] for p in range(partitions)]


async def send_contacts(bootstrap: str, events: list[Any]) -> None:
    async with started_producer(bootstrap) as producer:
        await publish(producer, CONTACT, events)


async def wait_floor(engine: AsyncEngine, expected: datetime, within: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while (found := await floor(engine)) != expected:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"dedupe floor {found}, not {expected}")
        await asyncio.sleep(0.2)


async def wait_no_default_rows(engine: AsyncEngine, within: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while found := await default_rows(engine):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"ids below the floor still in {found}")
        await asyncio.sleep(0.2)


async def default_rows(engine: AsyncEngine) -> list[tuple[str]]:
    """Partitions still holding ids of the week of November 2025."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT DISTINCT tableoid::regclass::text FROM applied_events "
                "WHERE event_time < '2025-12-01'"
            )
        )
        return [tuple(row) for row in rows]
