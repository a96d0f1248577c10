"""The simulator against a real broker: what is produced is exactly what the model yields."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services.common.events import CHAT
from services.common.producer import encode, new_producer
from services.common.registry import load_registry
from services.common.settings import PROJECT_ROOT, get_settings
from services.simulator import cli
from services.simulator.chat import simulate_chat
from services.simulator.run import backfill, run_realtime
from tests.support.infra import free_port

HELSINKI = ZoneInfo("Europe/Helsinki")
REGISTRY = load_registry(PROJECT_ROOT / "infra" / "registry" / "demo.yaml")


class TopicReader:
    """Reads what is appended to chat.events after `open()`, from every partition.

    Tansu's ListOffsets answers a wrong end offset, so the reader first consumes what is
    already there, and then takes everything that comes after.
    """

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=f"simulator-test-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )

    async def open(self) -> None:
        await self.consumer.start()
        await self.consumer.topics()
        numbers = self.consumer.partitions_for_topic(CHAT.topic)
        self.consumer.assign([TopicPartition(CHAT.topic, p) for p in sorted(numbers)])
        while await self.poll():
            pass

    async def poll(self) -> list[ConsumerRecord[bytes, bytes]]:
        batches = await self.consumer.getmany(timeout_ms=500)
        return [record for batch in batches.values() for record in batch]

    async def appended(self, count: int) -> list[ConsumerRecord[bytes, bytes]]:
        """The records appended since `open()`: at least `count`, and any more that come."""
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = asyncio.get_running_loop().time() + 30
        while len(records) < count:
            assert asyncio.get_running_loop().time() < deadline, "chat.events not read in 30 s"
            records += await self.poll()
        return records + await self.poll()


@pytest.fixture
async def reader(kafka_bootstrap: str) -> AsyncIterator[TopicReader]:
    reader = TopicReader(kafka_bootstrap)
    await reader.open()
    yield reader
    await reader.consumer.stop()


async def test_backfill_produces_exactly_the_simulated_events_keyed_by_contact(
    kafka_bootstrap: str, reader: TopicReader
) -> None:
    end = datetime(2025, 11, 5, tzinfo=HELSINKI)  # Monday and Tuesday
    expected = list(simulate_chat(REGISTRY, end - timedelta(days=2), end, 3, HELSINKI))
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    try:
        count = await backfill(producer, REGISTRY, HELSINKI, days=2, seed=3, end=end)
    finally:
        await producer.stop()

    records = await reader.appended(count)
    assert count == len(expected) == len(records)
    assert 1300 < count < 1800
    assert Counter(r.value for r in records) == Counter(encode(e) for e in expected)
    times: dict[bytes, list[datetime]] = {}
    for record in records:
        event = CHAT.parse(record.value, end, timedelta(hours=1))
        assert record.key == CHAT.key(event)
        times.setdefault(record.key, []).append(event.time)
    assert all(moments == sorted(moments) for moments in times.values())
    assert len(times) == len({CHAT.key(e) for e in expected})


async def test_backfill_never_produces_the_future(
    kafka_bootstrap: str, reader: TopicReader
) -> None:
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    try:
        later = datetime.now(HELSINKI) + timedelta(days=3)
        count = await backfill(producer, REGISTRY, HELSINKI, days=7, seed=4, end=later)
        finished = datetime.now(HELSINKI)
    finally:
        await producer.stop()
    records = await reader.appended(count)
    assert len(records) == count > 0
    moments = [CHAT.parse(r.value, finished, timedelta(0)).time for r in records]
    assert max(moments) <= finished
    assert min(moments) >= datetime.combine(
        later.date() - timedelta(days=7), datetime.min.time(), HELSINKI
    )


async def test_realtime_sends_compressed_time_and_stops_promptly(
    kafka_bootstrap: str, reader: TopicReader
) -> None:
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    stop = asyncio.Event()
    speed = 3 * 86_400.0  # three simulated days a second: always some weekdays
    try:
        began = datetime.now(HELSINKI)
        task = asyncio.create_task(run_realtime(producer, REGISTRY, HELSINKI, 5, speed, stop))
        await asyncio.sleep(2.5)
        stop.set()
        stopped_at = asyncio.get_running_loop().time()
        count = await asyncio.wait_for(task, timeout=5)
        latency = asyncio.get_running_loop().time() - stopped_at
        ended = datetime.now(HELSINKI)
    finally:
        await producer.stop()

    assert latency < 1.0
    records = await reader.appended(count)
    assert len(records) == count > 1000
    events = [CHAT.parse(r.value, ended, timedelta(0)) for r in records]
    began -= timedelta(microseconds=began.microsecond % 1000)  # times are in milliseconds
    assert all(began <= e.time <= ended for e in events)
    assert len({e.id for e in events}) == count
    first_of_contact: dict[str, str] = {}
    for event in sorted(events, key=lambda e: e.time):
        contact = getattr(event.data, "contact_id", None)
        if contact is not None:
            first_of_contact.setdefault(contact, event.type)
    # A run at another speed sends no end of a lifecycle whose beginning it did not send.
    assert set(first_of_contact.values()) == {"chat.started"}


def test_an_unreachable_broker_is_one_line_and_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KANAVA_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["simulate", "--backfill-days", "1", "--no-realtime"])
    try:
        code = args.handler(args)
    finally:
        get_settings.cache_clear()
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("simulator: cannot reach the Kafka broker at 127.0.0.1:")
    assert err.count("\n") == 1
    assert "Traceback" not in err
