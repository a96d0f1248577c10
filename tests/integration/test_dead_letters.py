"""Poison messages go to `<topic>.dlq` with their bytes and reason; the good ones all count."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.test_consumer_exactness import metric_value, new_topic
from tests.support.counting_service import DB_POISON
from tests.support.harness import (
    chat_stream,
    counting_service,
    prepare_counts_table,
    produce,
    stored_counts,
    wait_consumed,
)
from tests.support.infra import free_port

FUTURE = (datetime.now(UTC) + timedelta(hours=2)).isoformat()


def _event(event_type: str, data: object, time: str = "2025-11-03T10:00:00+02:00") -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "test",
            "type": event_type,
            "time": time,
            "data": data,
        }
    ).encode()


POISON: dict[bytes, str] = {
    b"this is not JSON {": "invalid_json",
    b"": "invalid_json",
    _event("chat.queued", {"contact_id": 5, "queue_id": "q"}): "invalid_value",
    _event("chat.teleported", {"contact_id": "c"}): "unknown_type",
    _event("chat.queued", {"contact_id": "nul\u0000", "queue_id": "q"}): "invalid_value",
    _event("chat.queued", {"contact_id": DB_POISON, "queue_id": "q"}): "rejected_by_database",
    _event("chat.queued", {"contact_id": "c", "queue_id": "q"}, FUTURE): "time_in_future",
    _event("chat.answered", {"contact_id": "c"}): "missing_field",
    _event("agent.status", {"agent_id": "a", "status": "asleep"}): "invalid_value",
}


async def read_all(
    bootstrap: str, topic: str, count: int
) -> list[tuple[int, int, bytes, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[tuple[int, int, bytes, dict[str, bytes]]] = []
    try:
        while len(found) < count:
            batch = await consumer.getmany(timeout_ms=2000)
            if not batch:
                break
            found += [
                (r.partition, r.offset, r.value, dict(r.headers))
                for records in batch.values()
                for r in records
            ]
    finally:
        await consumer.stop()
    return found


async def test_poison_messages_are_dead_lettered_with_reason_and_the_rest_counted(
    kafka_bootstrap: str, engine: AsyncEngine, database_url: str
) -> None:
    topic = await new_topic(kafka_bootstrap)
    group = f"counting-{uuid.uuid4().hex[:8]}"
    await prepare_counts_table(engine)
    stream = chat_stream(unique=3_000, duplicates=0, seed=3)
    messages = list(stream.messages)
    for n, poison in enumerate(POISON):
        messages.insert(400 * n + 7, (f"p{n}".encode(), poison, [("trace", f"t{n}".encode())]))
    await produce(kafka_bootstrap, topic, messages)

    service = counting_service(group, topic, free_port(), kafka_bootstrap, database_url)
    service.start()
    await wait_consumed(engine, group, len(messages))
    exposition = await service.metrics()
    assert service.stop() == 0

    assert await stored_counts(engine) == stream.expected
    originals = {
        value: (partition, offset)
        for partition, offset, value, _ in await read_all(kafka_bootstrap, topic, 3007)
    }
    dead = await read_all(kafka_bootstrap, f"{topic}.dlq", len(POISON))
    assert Counter(value for _, _, value, _ in dead) == Counter(list(POISON))
    for _, _, value, headers in dead:
        assert headers["kanava-error"].decode() == POISON[value]
        assert headers["kanava-error-detail"]
        if POISON[value] == "rejected_by_database":
            assert headers["kanava-error-detail"] == b"DivisionByZeroError (SQLSTATE 22012)"
        assert headers["kanava-service"].decode() == group
        assert headers["kanava-original-topic"].decode() == topic
        original = (
            int(headers["kanava-original-partition"]),
            int(headers["kanava-original-offset"]),
        )
        assert original == originals[value]
        assert headers["trace"].startswith(b"t")
    labels = {"service": group, "topic": topic}
    assert (
        metric_value(exposition, "kanava_consumer_events_total", outcome="processed", **labels)
        == 3_000
    )
    assert metric_value(
        exposition, "kanava_consumer_events_total", outcome="dead_lettered", **labels
    ) == len(POISON)
    assert (
        metric_value(exposition, "kanava_consumer_events_total", outcome="duplicate", **labels) == 0
    )
    lag = [
        line
        for line in exposition.splitlines()
        if line.startswith("kanava_consumer_lag{") and f'service="{group}"' in line
    ]
    assert len(lag) == 6, "one lag series per owned partition"
    assert all(line.endswith(" 0.0") for line in lag), lag
