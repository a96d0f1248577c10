"""The chat_metrics process end to end: Kafka in, Postgres figures and Prometheus metrics out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import CHAT
from services.common.producer import new_producer, publish
from tests.integration.test_chat_metrics_store import REGISTRY, bot_daily, daily
from tests.integration.test_consumer_exactness import metric_value, wait_for_partitions
from tests.support.chat_events import SCENARIO_BOT, SCENARIO_Q1, SCENARIO_Q2, chat, scenario
from tests.support.harness import ServiceProcess, consumer_service, wait_consumed


def chat_metrics(bootstrap: str, database_url: str, registry: Path) -> ServiceProcess:
    return consumer_service(
        "chat_metrics",
        bootstrap,
        database_url,
        registry,
        KANAVA_CHAT_TIMEOUT_SWEEP_SECONDS="0.5",
    )


async def send(bootstrap: str, events: list[object]) -> None:
    producer = new_producer(bootstrap)
    await producer.start()
    try:
        await publish(producer, CHAT, events)  # type: ignore[arg-type]
    finally:
        await producer.stop()


def day_queue_open() -> int:
    """The test registry's day-queue is open on weekdays 08-16, Helsinki time."""
    now = datetime.now(ZoneInfo("Europe/Helsinki"))
    return int(now.weekday() < 5 and 8 <= now.hour < 16)


def waiting_now(count: int) -> list[object]:
    now = datetime.now(UTC)
    return [
        chat(
            "chat.queued",
            now - timedelta(seconds=30 + n),
            contact_id=f"live-{uuid.uuid4()}",
            queue_id="q1" if n % 2 else "q2",
        )
        for n in range(count)
    ]


async def test_scenario_through_kafka_gives_figures_and_metrics(
    own_broker: str, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    service = chat_metrics(own_broker, database_url, registry)
    service.start()
    events = scenario() + waiting_now(1)
    await send(own_broker, events)
    await wait_consumed(engine, "chat_metrics", len(events))
    exposition = await service.metrics()
    assert service.stop() == 0

    assert await daily(engine, "q1") == SCENARIO_Q1
    assert await daily(engine, "q2") == SCENARIO_Q2
    assert await bot_daily(engine) == SCENARIO_BOT
    expected = {
        ("kanava_chat_offered_total", (("queue", "q1"),)): 5,
        ("kanava_chat_answered_total", (("queue", "q1"),)): 2,
        ("kanava_chat_answered_within_sl_total", (("queue", "q1"),)): 1,
        ("kanava_chat_answered_within_sl_total", (("queue", "q2"),)): 1,
        ("kanava_chat_transferred_out_total", (("queue", "q1"),)): 1,
        ("kanava_chat_abandoned_total", (("queue", "q1"), ("short", "true"))): 1,
        ("kanava_chat_abandoned_total", (("queue", "q1"), ("short", "false"))): 1,
        ("kanava_chat_wait_seconds_count", (("queue", "q1"), ("outcome", "answered"))): 2,
        (
            "kanava_chat_wait_seconds_bucket",
            (("queue", "q1"), ("outcome", "answered"), ("le", "60.0")),
        ): 1,
        (
            "kanava_chat_wait_seconds_bucket",
            (("queue", "q1"), ("outcome", "answered"), ("le", "90.0")),
        ): 2,
        ("kanava_chat_wait_seconds_sum", (("queue", "q1"), ("outcome", "answered"))): 135,
        ("kanava_chat_handle_seconds_sum", (("queue", "q1"),)): 1200,
        ("kanava_chat_bot_sessions_total", ()): 2,
        ("kanava_chat_bot_resolved_total", ()): 1,
        ("kanava_chat_bot_handovers_total", ()): 1,
        ("kanava_chat_waiting", (("queue", "q2"),)): 1,
        ("kanava_chat_waiting", (("queue", "q1"),)): 0,
        ("kanava_chat_active", (("queue", "q1"),)): 0,
        ("kanava_chat_queue_service_level_seconds", (("queue", "q1"),)): 60,
        ("kanava_chat_queue_service_level_target_ratio", (("queue", "q1"),)): 0.8,
        ("kanava_chat_queue_open", (("queue", "q1"),)): 1,
        ("kanava_unit_info", (("unit", "u"), ("service_area", "sa"), ("name", "Unit"))): 1,
        ("kanava_chat_queue_open", (("queue", "day-queue"),)): day_queue_open(),
        (
            "kanava_chat_queue_info",
            (("queue", "q1"), ("unit", "u"), ("service_area", "sa"), ("name", "Queue 1")),
        ): 1,
    }
    for (name, labels), value in expected.items():
        assert metric_value(exposition, name, **dict(labels)) == value, (name, labels)
    oldest = metric_value(exposition, "kanava_chat_oldest_wait_seconds", queue="q2")
    assert 30 <= oldest < 120


async def test_two_instances_export_their_own_partitions_and_sum_to_the_truth(
    own_broker: str, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    first, second = (chat_metrics(own_broker, database_url, registry) for _ in range(2))
    first.start()
    second.start()
    await wait_for_partitions([first, second], set(range(6)))
    events = waiting_now(40)
    await send(own_broker, events)
    await wait_consumed(engine, "chat_metrics", 40)
    await asyncio.sleep(0.5)
    expositions = [await first.metrics(), await second.metrics()]
    assert first.stop() == 0
    assert second.stop() == 0
    per_instance = [
        {q: metric_value(text, "kanava_chat_waiting", queue=q) for q in ("q1", "q2")}
        for text in expositions
    ]
    assert all(sum(counts.values()) > 0 for counts in per_instance), per_instance
    assert sum(counts["q1"] for counts in per_instance) == 20
    assert sum(counts["q2"] for counts in per_instance) == 20

    restarted = chat_metrics(own_broker, database_url, registry)
    restarted.start()
    await wait_for_partitions([restarted], set(range(6)))  # restored before it reports them
    exposition = await restarted.metrics()
    assert restarted.stop() == 0
    assert metric_value(exposition, "kanava_chat_waiting", queue="q1") == 20
    assert metric_value(exposition, "kanava_chat_waiting", queue="q2") == 20


async def test_a_client_waiting_past_stale_after_is_timed_out_by_the_service(
    own_broker: str, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    """q1 has the default 4 h stale_after: a client queued 4 h 10 min ago is abandoned with
    reason timeout at entry + 4 h, by an event the service itself produces."""
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    service = chat_metrics(own_broker, database_url, registry)
    service.start()
    entered = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4, minutes=10)
    await send(own_broker, [chat("chat.queued", entered, contact_id="ghost", queue_id="q1")])
    await wait_consumed(engine, "chat_metrics", 2)  # the queued event and the timeout
    exposition = await service.metrics()
    assert service.stop() == 0
    async with engine.connect() as conn:
        visit = (
            await conn.execute(
                text(
                    "SELECT outcome, abandon_reason, ended_at FROM chat_visits "
                    "WHERE contact_id = 'ghost'"
                )
            )
        ).one()
    assert (visit.outcome, visit.abandon_reason) == ("abandoned", "timeout")
    assert visit.ended_at == entered + timedelta(hours=4)
    assert metric_value(exposition, "kanava_chat_waiting", queue="q1") == 0
