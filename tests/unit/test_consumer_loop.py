"""The consumer loop against an in-memory Kafka client and a real PostgreSQL (the session's
embedded server): rebalances around a batch in flight, records read before the listener
assigned their partition, and a batch the database refuses one event of."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Collection, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from services.common.bookkeeping import load_offsets, save_offsets
from services.common.consumer import (
    Consumed,
    ConsumerApp,
    Domain,
    RebalanceListener,
    Record,
    StreamConsumer,
)
from services.common.events import CHAT, AgentStatus, ChatEvent
from services.common.producer import encode
from tests.support.chat_events import chat

pytestmark = pytest.mark.timeout(60)

TOPIC = "loop.events"
POISON = "refused-by-the-database"
WHEN = datetime(2025, 11, 3, 10, 0, tzinfo=ZoneInfo("Europe/Helsinki"))
Sent = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]


class FakeKafka:
    """One topic in memory, read from a position per partition. At the fetches named in
    `rebalances` the records are read first, then the group rebalances (the listener runs,
    as aiokafka runs it while a fetch waits) and the partitions named are owned from then on;
    the records read before it are returned all the same. At the fetches named in `early` the
    client owns the partitions named, and reads them, before the listener hears of it."""

    def __init__(
        self,
        records: dict[int, list[Record]],
        per_fetch: int,
        rebalances: dict[int, list[int]],
        early: dict[int, list[int]] | None = None,
    ) -> None:
        self.records = records
        self.per_fetch = per_fetch
        self.rebalances = rebalances
        self.early = early or {}
        self.owned: list[int] = []
        self.announced: list[int] = []
        self.positions: dict[int, int] = {}
        self.fetches = 0
        self.seeks: list[tuple[int, int | None]] = []
        """(partition, offset); None: to the beginning."""
        self.commits: list[dict[int, int]] = []
        self.drained = asyncio.Event()
        self.listener: RebalanceListener | None = None

    def subscribe(self, topics: list[str], *, listener: RebalanceListener) -> None:
        assert topics == [TOPIC]
        self.listener = listener

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int, max_records: int
    ) -> dict[TopicPartition, list[Record]]:
        self.fetches += 1
        self.owned = self.early.pop(self.fetches, self.owned)
        asked = {tp.partition for tp in partitions} or set(self.owned)
        read = {TopicPartition(TOPIC, p): self._read(p) for p in self.owned if p in asked}
        batch = {tp: records for tp, records in read.items() if records}
        if self.fetches in self.rebalances:
            await self.rebalance(self.rebalances.pop(self.fetches))
        elif not batch:
            self.drained.set()
            await asyncio.sleep(timeout_ms / 1000)
        return batch

    def _read(self, partition: int) -> list[Record]:
        first = self.positions.get(partition, 0)
        records = self.records[partition][first : first + self.per_fetch]
        self.positions[partition] = first + len(records)
        return records

    async def rebalance(self, assigned: list[int]) -> None:
        assert self.listener is not None
        if self.announced:
            await self.listener.on_partitions_revoked(self._of(self.announced))
        self.owned = self.announced = assigned
        await self.listener.on_partitions_assigned(self._of(assigned))

    def _of(self, partitions: list[int]) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, p) for p in partitions]

    def assignment(self) -> set[TopicPartition]:
        return set(self._of(self.owned))

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.positions[partition.partition] = offset
        self.seeks.append((partition.partition, offset))

    async def seek_to_beginning(self, partition: TopicPartition) -> None:
        self.positions[partition.partition] = 0
        self.seeks.append((partition.partition, None))

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append({tp.partition: offset for tp, offset in offsets.items()})

    def highwater(self, partition: TopicPartition) -> int | None:
        return len(self.records[partition.partition])


class FakeProducer:
    """Acknowledges every message at once and keeps it."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def send(
        self, topic: str, *, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Awaitable[object]:
        self.sent.append((topic, key, value, headers))
        acked: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        acked.set_result(None)
        return acked


class Recording(Domain[ChatEvent, tuple[str, ...]]):
    """Applies nothing; the database refuses a batch holding the contact POISON. Keeps what
    reached each hook."""

    def __init__(self) -> None:
        self.committed_ids: list[tuple[str, ...]] = []
        self.restored: list[list[int]] = []
        self.released: list[list[int]] = []

    async def apply(
        self, conn: AsyncConnection, events: Sequence[Consumed[ChatEvent]]
    ) -> tuple[str, ...]:
        if any(_poisoned(c.event) for c in events):
            await conn.execute(text("SELECT 1 / 0"))
        return tuple(c.event.id for c in events)

    def committed(self, result: tuple[str, ...]) -> None:
        self.committed_ids.append(result)

    async def restore(self, conn: AsyncConnection, partitions: Collection[int]) -> None:
        self.restored.append(list(partitions))

    def release(self, partitions: Collection[int]) -> None:
        self.released.append(list(partitions))


def _poisoned(event: ChatEvent) -> bool:
    return not isinstance(event, AgentStatus) and event.data.contact_id == POISON


def record(partition: int, offset: int, contact: str | None = None) -> Record:
    """A chat.queued event with the id `e<partition>-<offset>`."""
    contact = contact or f"c{partition}-{offset}"
    event = chat("chat.queued", WHEN, f"e{partition}-{offset}", contact_id=contact, queue_id="q")
    value = encode(event)
    key = contact.encode()
    headers = [("origin", b"test")]
    return ConsumerRecord(
        topic=TOPIC,
        partition=partition,
        offset=offset,
        timestamp=1_762_156_800_000,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value),
        headers=headers,
    )


@pytest.fixture
async def shared_engine(shared_database_url: str) -> AsyncIterator[AsyncEngine]:
    """The session's database: each test is a consumer group of its own."""
    engine = create_async_engine(shared_database_url)
    yield engine
    await engine.dispose()


async def run_until_drained(
    consumer: StreamConsumer[ChatEvent, tuple[str, ...]], kafka: FakeKafka
) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    drained = asyncio.create_task(kafka.drained.wait())
    await asyncio.wait({running, drained}, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    drained.cancel()
    await running


def new_consumer(
    engine: AsyncEngine,
    kafka: FakeKafka,
    producer: FakeProducer,
    domain: Recording,
    lanes: int = 1,
) -> StreamConsumer[ChatEvent, tuple[str, ...]]:
    group = f"loop-{uuid.uuid4().hex[:8]}"
    app = ConsumerApp(group, CHAT.on_topic(TOPIC), domain)
    return StreamConsumer(app, engine, producer, kafka, wait_ms=1, lanes=lanes)


async def stored_offsets(
    engine: AsyncEngine, group: str, partitions: Sequence[int] = (0, 1)
) -> dict[int, int]:
    async with engine.connect() as conn:
        return await load_offsets(conn, group, TOPIC, partitions)


class Overlapping(Recording):
    """Holds each batch's transaction open a moment, counting how many are open at once."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.open = self.most_open = 0
        self.expected = expected
        self.all_committed = asyncio.Event()

    def committed(self, result: tuple[str, ...]) -> None:
        super().committed(result)
        if sum(map(len, self.committed_ids)) == self.expected:
            self.all_committed.set()

    async def apply(
        self, conn: AsyncConnection, events: Sequence[Consumed[ChatEvent]]
    ) -> tuple[str, ...]:
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        await asyncio.sleep(0.05)
        self.open -= 1
        return await super().apply(conn, events)


async def test_two_lanes_store_their_own_partitions_at_once_and_every_event_once(
    shared_engine: AsyncEngine,
) -> None:
    kafka = FakeKafka({p: [record(p, o) for o in range(3)] for p in range(4)}, 2, {})
    domain = Overlapping(expected=12)
    consumer = new_consumer(shared_engine, kafka, FakeProducer(), domain, lanes=2)
    group = consumer.app.service
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    await asyncio.sleep(0)  # the loop subscribes
    await kafka.rebalance([0, 1, 2, 3])
    await asyncio.wait_for(domain.all_committed.wait(), 10)
    stop.set()
    await running

    # lane 0 reads partitions 0 and 2, lane 1 reads 1 and 3, two records of each per fetch
    assert domain.most_open == 2
    lanes = [{int(i[1]) % 2 for i in ids} for ids in domain.committed_ids]
    assert lanes.count({0}) == lanes.count({1}) == 2
    stored = sorted(i for ids in domain.committed_ids for i in ids)
    assert stored == sorted(f"e{p}-{o}" for p in range(4) for o in range(3))
    assert await stored_offsets(shared_engine, group, range(4)) == dict.fromkeys(range(4), 3)


async def test_a_rebalance_waits_for_the_batch_in_flight_and_reads_from_the_stored_offsets(
    shared_engine: AsyncEngine,
) -> None:
    kafka = FakeKafka(
        {p: [record(p, o) for o in range(4)] for p in (0, 1)},
        per_fetch=2,
        rebalances={1: [0, 1], 3: [1]},
    )
    domain = Recording()
    consumer = new_consumer(shared_engine, kafka, FakeProducer(), domain)
    group = consumer.app.service
    async with shared_engine.begin() as conn:
        await save_offsets(conn, group, TOPIC, {0: 1})

    await run_until_drained(consumer, kafka)

    # fetch 1 assigns both: partition 0 from its stored offset, 1 (none stored) from the start;
    # fetch 2 reads 0@1-2 and 1@0-1 and is stored; fetch 3, made while it is, reads 0@3 and
    # 1@2-3, then waits for it before the rebalance moves partition 0 away. Fetch 3 predates
    # the new assignment: it is dropped and partition 1 read again from its stored offset 2.
    assert kafka.seeks == [(0, 1), (1, None), (1, 2), (1, 2)]
    assert domain.restored == [[0, 1], [1]]
    assert domain.released == [[0, 1]]
    assert domain.committed_ids == [("e0-1", "e0-2", "e1-0", "e1-1"), ("e1-2", "e1-3")]
    assert kafka.commits == [{0: 3, 1: 2}, {1: 4}]
    assert await stored_offsets(shared_engine, group) == {0: 3, 1: 4}


async def test_records_read_before_the_listener_assigned_their_partition_are_read_again(
    shared_engine: AsyncEngine,
) -> None:
    kafka = FakeKafka(
        {0: [record(0, o) for o in range(2)], 1: [record(1, o) for o in range(4)]},
        per_fetch=4,
        rebalances={1: [0], 3: [0, 1]},
        early={2: [0, 1]},
    )
    domain = Recording()
    consumer = new_consumer(shared_engine, kafka, FakeProducer(), domain)
    group = consumer.app.service
    async with shared_engine.begin() as conn:
        await save_offsets(conn, group, TOPIC, {1: 2})

    await run_until_drained(consumer, kafka)

    # fetch 2 reads 0@0-1 and, from the start, 1@0-3 of a partition whose offset the loop has
    # not read: only partition 0's are stored; the listener runs in fetch 3 and partition 1 is
    # read again from its stored offset 2
    assert kafka.seeks == [(0, None), (0, 2), (1, 2)]
    assert domain.restored == [[0], [0, 1]]
    assert domain.released == [[0]]
    assert domain.committed_ids == [("e0-0", "e0-1"), ("e1-2", "e1-3")]
    assert kafka.commits == [{0: 2}, {1: 4}]
    assert await stored_offsets(shared_engine, group) == {0: 2, 1: 4}


async def test_the_event_the_database_refuses_is_dead_lettered_and_the_others_stored(
    shared_engine: AsyncEngine,
) -> None:
    records = [record(0, o, POISON if o == 3 else None) for o in range(5)]
    kafka = FakeKafka({0: records}, per_fetch=5, rebalances={1: [0]})
    producer = FakeProducer()
    domain = Recording()
    consumer = new_consumer(shared_engine, kafka, producer, domain)
    group = consumer.app.service

    await run_until_drained(consumer, kafka)

    # 0-4 refused → 0-1 stored; 2-4 refused → 2 stored; 3-4 refused → 3 refused alone, so
    # dead-lettered and its offset stored with nothing applied; then 4 stored
    assert domain.committed_ids == [("e0-0", "e0-1"), ("e0-2",), (), ("e0-4",)]
    assert producer.sent == [
        (
            f"{TOPIC}.dlq",
            POISON.encode(),
            records[3].value,
            [
                ("origin", b"test"),
                ("kanava-error", b"rejected_by_database"),
                ("kanava-error-detail", b"DivisionByZeroError (SQLSTATE 22012)"),
                ("kanava-service", group.encode()),
                ("kanava-original-topic", TOPIC.encode()),
                ("kanava-original-partition", b"0"),
                ("kanava-original-offset", b"3"),
            ],
        )
    ]
    assert kafka.commits == [{0: 5}]
    assert await stored_offsets(shared_engine, group) == {0: 5}
    counted = {
        outcome: REGISTRY.get_sample_value(
            "kanava_consumer_events_total", {"service": group, "topic": TOPIC, "outcome": outcome}
        )
        for outcome in ("processed", "duplicate", "dead_lettered", "too_old")
    }
    assert counted == {"processed": 4.0, "duplicate": 0.0, "dead_lettered": 1.0, "too_old": 0.0}
