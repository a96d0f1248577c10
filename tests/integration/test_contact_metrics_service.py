"""The contact_metrics process end to end: Kafka in, Postgres counts and Prometheus out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import CONTACT
from services.common.producer import new_producer, publish
from tests.integration.test_consumer_exactness import metric_value
from tests.integration.test_contact_metrics_store import REGISTRY
from tests.support.contact_events import contact
from tests.support.harness import consumer_service, wait_consumed


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
