"""The simulator against a real broker: what is produced is exactly what the model yields."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services.common.events import (
    CHAT,
    CONTACT,
    FEEDBACK,
    PATHWAY,
    Envelope,
    PathwayStarted,
    SmsReceived,
    Stream,
    SurveyAnswered,
    SurveyDeliveryFailed,
    SurveySent,
)
from services.common.producer import encode, new_producer
from services.common.registry import load_registry
from services.common.settings import PROJECT_ROOT, get_settings
from services.simulator import cli
from services.simulator.chat import simulate_chat
from services.simulator.contacts import simulate_contacts
from services.simulator.feedback import Drop, simulate_feedback
from services.simulator.pathways import simulate_pathways
from services.simulator.run import (
    backfill,
    run_realtime,
    run_realtime_contacts,
    run_realtime_feedback,
    run_realtime_pathways,
)
from tests.support.infra import free_port

HELSINKI = ZoneInfo("Europe/Helsinki")
REGISTRY = load_registry(PROJECT_ROOT / "infra" / "registry" / "demo.yaml")
KEY = "test-key"


class TopicReader:
    """Reads what is appended to a stream's topic after `open()`, from every partition.

    Tansu's ListOffsets answers a wrong end offset, so the reader first consumes what is
    already there, and then takes everything that comes after.
    """

    def __init__(self, bootstrap: str, stream: Stream[Envelope]) -> None:
        self.stream = stream
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=f"simulator-test-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )

    async def open(self) -> None:
        await self.consumer.start()
        await self.consumer.topics()
        topic = self.stream.topic
        numbers = self.consumer.partitions_for_topic(topic)
        self.consumer.assign([TopicPartition(topic, p) for p in sorted(numbers)])
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
            assert asyncio.get_running_loop().time() < deadline, "topic not read in 30 s"
            records += await self.poll()
        return records + await self.poll()


async def open_reader(bootstrap: str, stream: Stream[Envelope]) -> AsyncIterator[TopicReader]:
    reader = TopicReader(bootstrap, stream)
    await reader.open()
    yield reader
    await reader.consumer.stop()


@pytest.fixture
async def reader(kafka_bootstrap: str) -> AsyncIterator[TopicReader]:
    async for opened in open_reader(kafka_bootstrap, CHAT):
        yield opened


@pytest.fixture
async def feedback_reader(kafka_bootstrap: str) -> AsyncIterator[TopicReader]:
    async for opened in open_reader(kafka_bootstrap, FEEDBACK):
        yield opened


@pytest.fixture
async def pathway_reader(kafka_bootstrap: str) -> AsyncIterator[TopicReader]:
    async for opened in open_reader(kafka_bootstrap, PATHWAY):
        yield opened


@pytest.fixture
async def contact_reader(kafka_bootstrap: str) -> AsyncIterator[TopicReader]:
    async for opened in open_reader(kafka_bootstrap, CONTACT):
        yield opened


async def test_backfill_produces_exactly_the_simulated_events_keyed_by_contact(
    kafka_bootstrap: str, reader: TopicReader
) -> None:
    end = datetime(2025, 11, 5, tzinfo=HELSINKI)  # Monday and Tuesday
    expected = list(simulate_chat(REGISTRY, end - timedelta(days=2), end, 3, HELSINKI))
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    try:
        count, *_ = await backfill(producer, REGISTRY, HELSINKI, days=2, seed=3, end=end, key=KEY)
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


async def test_backfill_produces_exactly_the_simulated_feedback_keyed_by_recipient(
    kafka_bootstrap: str, feedback_reader: TopicReader
) -> None:
    end = datetime(2025, 11, 5, tzinfo=HELSINKI)  # Monday and Tuesday
    drop = Drop("terveysasema-kouvola", date(2025, 11, 3), -40)
    start = end - timedelta(days=2)
    expected = list(simulate_feedback(REGISTRY, start, end, 3, HELSINKI, KEY, drop))
    assert expected != list(simulate_feedback(REGISTRY, start, end, 3, HELSINKI, KEY))
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    try:
        sent = await backfill(
            producer, REGISTRY, HELSINKI, days=2, seed=3, end=end, key=KEY, drop=drop
        )
    finally:
        await producer.stop()

    records = await feedback_reader.appended(sent.feedback)
    assert sent.feedback == len(expected) == len(records)
    assert Counter(r.value for r in records) == Counter(encode(e) for e in expected)
    times: dict[bytes, list[datetime]] = {}
    for record in records:
        event = FEEDBACK.parse(record.value, end, timedelta(hours=1))
        assert record.key == FEEDBACK.key(event)
        if isinstance(event, SurveySent | SmsReceived):
            assert record.key == str(event.data.recipient).encode()
        else:
            assert isinstance(event, SurveyDeliveryFailed | SurveyAnswered)
            assert record.key == event.data.survey_id.encode()
        times.setdefault(record.key, []).append(event.time)
    assert all(moments == sorted(moments) for moments in times.values())


async def test_backfill_produces_exactly_the_simulated_pathways_and_contacts_keyed(
    kafka_bootstrap: str, pathway_reader: TopicReader, contact_reader: TopicReader
) -> None:
    end = datetime(2025, 11, 5, tzinfo=HELSINKI)  # Monday and Tuesday
    start = end - timedelta(days=2)
    pathways = list(simulate_pathways(REGISTRY, start, end, 3, HELSINKI))
    contacts = list(simulate_contacts(REGISTRY, start, end, 3, HELSINKI))
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    try:
        sent = await backfill(producer, REGISTRY, HELSINKI, days=2, seed=3, end=end, key=KEY)
    finally:
        await producer.stop()

    assert sent.pathway == len(pathways) == 160
    assert sent.contact == len(contacts) == 23_513
    for reader, stream, expected, key_field in (
        (pathway_reader, PATHWAY, pathways, "enrolment_id"),
        (contact_reader, CONTACT, contacts, "contact_id"),
    ):
        records = await reader.appended(len(expected))
        assert len(records) == len(expected)
        assert Counter(r.value for r in records) == Counter(encode(e) for e in expected)
        times: dict[bytes, list[datetime]] = {}
        for record in records:
            event = stream.parse(record.value, end, timedelta(hours=1))
            assert record.key == stream.key(event) == getattr(event.data, key_field).encode()
            times.setdefault(record.key, []).append(event.time)
        assert all(moments == sorted(moments) for moments in times.values())
    started = {PATHWAY.key(e) for e in pathways if isinstance(e, PathwayStarted)}
    assert 0 < len(started) < len({PATHWAY.key(e) for e in pathways})


async def test_backfill_never_produces_the_future(
    kafka_bootstrap: str, reader: TopicReader
) -> None:
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    try:
        later = datetime.now(HELSINKI) + timedelta(days=3)
        count, *_ = await backfill(producer, REGISTRY, HELSINKI, days=7, seed=4, end=later, key=KEY)
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


async def test_realtime_feedback_sends_compressed_time_and_whole_surveys(
    kafka_bootstrap: str, feedback_reader: TopicReader
) -> None:
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    stop = asyncio.Event()
    speed = 3 * 86_400.0  # three simulated days a second: always some weekdays
    try:
        began = datetime.now(HELSINKI)
        task = asyncio.create_task(
            run_realtime_feedback(producer, REGISTRY, HELSINKI, 5, speed, stop, key=KEY)
        )
        await asyncio.sleep(2.5)
        stop.set()
        stopped_at = asyncio.get_running_loop().time()
        count = await asyncio.wait_for(task, timeout=5)
        latency = asyncio.get_running_loop().time() - stopped_at
        ended = datetime.now(HELSINKI)
    finally:
        await producer.stop()

    assert latency < 1.0
    records = await feedback_reader.appended(count)
    assert len(records) == count > 1000
    events = [FEEDBACK.parse(r.value, ended, timedelta(0)) for r in records]
    began -= timedelta(microseconds=began.microsecond % 1000)  # times are in milliseconds
    assert all(began <= e.time <= ended for e in events)
    assert len({e.id for e in events}) == count
    # A run of its own sends nothing that follows a survey it did not send (compressed, a
    # survey and its answer may share a millisecond, and come from different partitions).
    surveys: dict[str, datetime] = {}
    first_to: dict[str, datetime] = {}
    for event in events:
        if isinstance(event, SurveySent):
            surveys[event.data.survey_id] = event.time
            recipient = str(event.data.recipient)
            first_to[recipient] = min(event.time, first_to.get(recipient, event.time))
    for event in events:
        if isinstance(event, SmsReceived):
            assert first_to[event.data.recipient] <= event.time
        elif not isinstance(event, SurveySent):
            assert isinstance(event, SurveyDeliveryFailed | SurveyAnswered)
            assert surveys[event.data.survey_id] <= event.time
    assert {e.type for e in events} == {
        "survey.sent",
        "survey.delivery_failed",
        "sms.received",
        "survey.answered",
    }


async def test_realtime_pathways_and_contacts_send_compressed_time_and_stop_promptly(
    kafka_bootstrap: str, pathway_reader: TopicReader, contact_reader: TopicReader
) -> None:
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    stop = asyncio.Event()
    speed = 2 * 86_400.0  # two simulated days a second
    try:
        began = datetime.now(HELSINKI)
        common = (producer, REGISTRY, HELSINKI, 5, speed, stop)
        tasks = [
            asyncio.create_task(run_realtime_pathways(*common)),
            asyncio.create_task(run_realtime_contacts(*common)),
        ]
        await asyncio.sleep(2.5)
        stop.set()
        stopped_at = asyncio.get_running_loop().time()
        pathways, contacts = await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
        latency = asyncio.get_running_loop().time() - stopped_at
        ended = datetime.now(HELSINKI)
    finally:
        await producer.stop()

    assert latency < 1.0
    began -= timedelta(microseconds=began.microsecond % 1000)  # times are in milliseconds
    parsed: dict[str, list[Any]] = {}
    for reader, stream, count in (
        (pathway_reader, PATHWAY, pathways),
        (contact_reader, CONTACT, contacts),
    ):
        records = await reader.appended(count)
        assert len(records) == count > 0
        events = [stream.parse(r.value, ended, timedelta(0)) for r in records]
        assert all(began <= e.time <= ended for e in events)
        assert len({e.id for e in events}) == count
        parsed[stream.name] = events
    assert contacts > 5000
    # A run of its own sends no step of an enrolment whose start it did not send.
    enrolments = {e.data.enrolment_id for e in parsed["pathway"]}
    assert enrolments == {
        e.data.enrolment_id for e in parsed["pathway"] if isinstance(e, PathwayStarted)
    }


async def test_the_command_backfills_every_stream_with_the_drop_and_says_so(
    kafka_bootstrap: str,
    reader: TopicReader,
    feedback_reader: TopicReader,
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    argv = ["simulate", "--backfill-days", "1", "--no-realtime", "--seed", "6"]
    args = parser.parse_args([*argv, "--nps-drop", "terveysasema-kouvola:-1:-50"])
    began = datetime.now(HELSINKI)
    try:
        code = await cli.simulate(args, kafka_bootstrap, REGISTRY, HELSINKI, KEY)
    finally:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    finished = datetime.now(HELSINKI)
    assert code == 0
    out = capsys.readouterr().out
    printed = re.fullmatch(
        r"simulator: backfilled (\d+) chat, (\d+) feedback, (\d+) pathway and (\d+) contact "
        r"events \(1 day\)\n",
        out,
    )
    assert printed is not None, out
    chat, feedback = int(printed[1]), int(printed[2])
    assert int(printed[3]) > 0
    assert int(printed[4]) > 0
    assert len(await reader.appended(chat)) == chat
    records = await feedback_reader.appended(feedback)
    assert len(records) == feedback > 0
    start = datetime.combine(began.date() - timedelta(days=1), time(), HELSINKI)
    drop = Drop("terveysasema-kouvola", began.date() - timedelta(days=1), -50)
    # The backfill ended between `began` and `finished`: its events are the first ones.
    world = simulate_feedback(REGISTRY, start, finished, 6, HELSINKI, KEY, drop)
    expected = [encode(e) for e in world][:feedback]
    assert Counter(r.value for r in records) == Counter(expected)


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
