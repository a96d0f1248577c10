"""The contact_metrics process end to end: Kafka in, Postgres counts and Prometheus out."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import CONTACT
from services.common.producer import encode, new_producer, publish
from tests.integration.test_consumer_exactness import metric_value
from tests.integration.test_contact_metrics_store import REGISTRY
from tests.integration.test_contact_month_counts import month_counts
from tests.integration.test_dead_letters import read_all
from tests.support.contact_events import contact, month_count
from tests.support.harness import Message, consumer_service, produce, wait_consumed


async def test_contacts_through_kafka_give_counters_and_shares(
    own_broker: str, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    service = consumer_service(
        "contact_metrics",
        own_broker,
        database_url,
        registry,
        KANAVA_CONTACT_REFRESH_SECONDS="0.2",
        KANAVA_DIGITAL_CHANNELS="chat,video",  # messages are not digital here
    )
    service.start()
    now = datetime.now(UTC) - timedelta(seconds=1)
    channels = ["chat", "chat", "video", "phone", "message", "in_person", "in_person", "chat"]
    events = [contact(f"c{n}", "u1", ch, now) for n, ch in enumerate(channels)]
    events.append(contact("c0", "u1", "chat", now))  # a re-sent record: another id, same contact
    producer = new_producer(own_broker)
    await producer.start()
    try:
        await publish(producer, CONTACT, events)
    finally:
        await producer.stop()
    await wait_consumed(engine, "contact_metrics", len(events))
    await asyncio.sleep(1)
    exposition = await service.metrics()
    assert service.stop() == 0

    assert metric_value(exposition, "kanava_contacts_total", unit="u1", channel="chat") == 3
    assert metric_value(exposition, "kanava_contacts_total", unit="u1", channel="in_person") == 2
    # digital = chat 3 + video 1 of 8 contacts (the re-sent c0 is one contact)
    share = metric_value(exposition, "kanava_digital_contact_share", unit="u1", window="today")
    assert share == 4 / 8
    assert metric_value(exposition, "kanava_contacts_in_window", unit="u1", window="30d") == 8
    assert metric_value(exposition, "kanava_digital_channel", channel="video") == 1
    assert metric_value(exposition, "kanava_digital_channel", channel="message") == 0


async def test_month_counts_through_kafka_and_a_bad_one_to_the_dead_letters(
    own_broker: str, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    service = consumer_service("contact_metrics", own_broker, database_url, registry)
    service.start()
    now = datetime.now(UTC) - timedelta(seconds=5)
    counts = [
        month_count("u1", "chat", "2024-11", 300, now, "m1"),
        month_count("u1", "chat", "2024-11", 310, now + timedelta(seconds=1), "m2"),
        month_count("u2", "phone", "2024-11", 80, now, "m3"),
    ]
    bad = month_count("u1", "chat", "2024-12", 1, now, "m4").model_dump(mode="json")
    bad["data"]["month"] = "2024-13"
    messages: list[Message] = [(CONTACT.key(c), encode(c), []) for c in counts]
    messages.append((b"u1", json.dumps(bad).encode(), []))
    try:
        await produce(own_broker, CONTACT.topic, messages)
        await wait_consumed(engine, "contact_metrics", len(messages))
        (dead,) = await read_all(own_broker, CONTACT.dead_letter_topic, 1)
    finally:
        assert service.stop() == 0
    assert await month_counts(engine) == [
        (date(2024, 11, 1), "u1", "chat", "avohilmo-2024", "sa1", 310, "m2"),
        (date(2024, 11, 1), "u2", "phone", "avohilmo-2024", "sa1", 80, "m3"),
    ]
    _, _, value, headers = dead
    assert json.loads(value) == bad
    assert headers["kanava-error"] == b"invalid_value"
    assert headers["kanava-service"] == b"contact_metrics"
    assert headers["kanava-error-detail"].startswith(b"contact.month_counted.data.month:")
