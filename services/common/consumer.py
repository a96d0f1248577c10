"""The consumer loop every service runs (docs/events.md, docs/operations.md).

Per batch: validate; dead-letter what can never be processed; in ONE database transaction
claim the event ids (duplicates drop out), let the service apply the new events with
set-based SQL, and store the next offset of each partition; then commit to Kafka. Postgres
holds the truth: on assignment the consumer seeks to the offsets stored there, so a crash
anywhere replays at most the uncommitted batch, and the claimed ids make the replay a no-op.

The owned partitions are shared out over lanes (partition modulo lanes), each with its own
fetch and batch transaction: while one lane waits for PostgreSQL, another runs its Python.
Lanes of one process are like instances of one group: a story lives on one partition, so on
one lane, and what lanes share (per-day figures) is added in commuting, key-ordered upserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, NamedTuple, Protocol, TypeAlias, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common import metrics
from services.common.bookkeeping import claim_events, dedupe_floor, load_offsets, save_offsets
from services.common.db import retry_transient
from services.common.events import Envelope, InvalidEvent, Stream
from services.common.history import Stories
from services.common.producer import Sender, publish_raw
from services.common.schedule import every
from services.common.stalls import (
    DATABASE_UNAVAILABLE,
    StallWatch,
    describe,
    fetch_failure_reason,
)

log = logging.getLogger(__name__)
Record: TypeAlias = ConsumerRecord  # aiokafka is untyped: a ConsumerRecord[bytes, bytes]
Scrub: TypeAlias = Callable[[bytes], bytes]
E = TypeVar("E", bound=Envelope)
"""The events of a stream: the union of its envelope types."""
R = TypeVar("R")
"""What a domain's `apply` gives its `committed`."""


class Consumed(NamedTuple, Generic[E]):
    """A valid event and where it was read from (a named tuple: one is made per event)."""

    event: E
    partition: int
    offset: int


class Domain(ABC, Generic[E, R]):
    """What a service adds to the shared loop: how its events change state. A service defines
    `apply`, and the other hooks only where it keeps state in memory."""

    @abstractmethod
    async def apply(self, conn: AsyncConnection, events: Sequence[Consumed[E]]) -> R:
        """Write the effect of new (never applied) events inside the batch transaction; return
        what `committed` needs."""

    def committed(self, result: R) -> None:
        """Update in-memory state and metrics with what `apply` returned, once its transaction
        has committed."""

    async def restore(self, conn: AsyncConnection, partitions: Collection[int]) -> None:
        """Rebuild in-memory state of newly assigned partitions from the database."""

    def release(self, partitions: Collection[int]) -> None:
        """Forget in-memory state of partitions this instance no longer owns."""


class RebalanceListener(Protocol):
    """The loop's handlers of a rebalance, which a `KafkaClient` runs around each one."""

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None: ...

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None: ...


class KafkaClient(Protocol):
    """The consumer calls the loop makes: aiokafka's AIOKafkaConsumer (`kafka_consumer`), or an
    in-memory one in tests."""

    def subscribe(self, topics: list[str], *, listener: RebalanceListener) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int, max_records: int
    ) -> dict[TopicPartition, list[Record]]: ...

    def assignment(self) -> set[TopicPartition]: ...

    def seek(self, partition: TopicPartition, offset: int) -> None: ...

    async def seek_to_beginning(self, partition: TopicPartition) -> None: ...

    async def commit(self, offsets: dict[TopicPartition, int]) -> None: ...

    def highwater(self, partition: TopicPartition) -> int | None: ...


def kafka_consumer(bootstrap: str, group: str, **options: Any) -> KafkaClient:
    """The group's consumer; it never commits by itself, and starts a partition without stored
    offsets at its beginning."""
    consumer: KafkaClient = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=f"{group}-{socket.gethostname()}-{os.getpid()}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **options,
    )
    return consumer


BackgroundTask = Callable[["ServiceContext", asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ServiceContext:
    """What background tasks of a service may use."""

    engine: AsyncEngine
    producer: AIOKafkaProducer


def periodic(
    interval: float, work: Callable[[AsyncEngine], Coroutine[Any, Any, Any]], what: str
) -> BackgroundTask:
    """A task that runs `work(engine)` at start and then every `interval` seconds."""

    async def task(context: ServiceContext, stop: asyncio.Event) -> None:
        async def once() -> None:
            await work(context.engine)

        await every(interval, once, stop, what)

    return task


@dataclass(frozen=True)
class ConsumerApp(Generic[E, R]):
    """A consumer service: its name (also its consumer group), its stream and its domain,
    and tasks that run beside the consumer until it stops (schedules, sweeps)."""

    service: str
    stream: Stream[E]
    domain: Domain[E, R]
    tasks: tuple[BackgroundTask, ...] = ()
    # Makes a dead letter's bytes safe to keep (personal data in free text); None: as read.
    scrub: Scrub | None = None
    # Where the service keeps its stories, for history retention; None: nothing to forget.
    stories: Stories | None = None


@dataclass(frozen=True)
class Rejected:
    record: Record
    error: InvalidEvent


@dataclass(frozen=True)
class Fetched(Generic[E]):
    """A fetched batch, validated; `generation` counts the assignments seen before it."""

    generation: int
    records: list[Record]
    valid: list[Consumed[E]]
    rejected: list[Rejected]


@dataclass(frozen=True)
class Lane:
    """A share of the owned partitions (those equal to `index` modulo `of`), fetched and
    stored one batch at a time; the lock is held while a batch of it is stored."""

    index: int
    of: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def holds(self, partition: int) -> bool:
        return partition % self.of == self.index


class StreamConsumer(Generic[E, R]):
    def __init__(
        self,
        app: ConsumerApp[E, R],
        engine: AsyncEngine,
        producer: Sender,
        kafka: KafkaClient,
        *,
        max_records: int = 5000,
        wait_ms: int = 200,
        max_future: timedelta = timedelta(hours=1),
        stalls: StallWatch | None = None,
        lanes: int = 1,
    ) -> None:
        self.app = app
        self.engine = engine
        self.producer = producer
        self.max_records = max_records
        self.wait_ms = wait_ms
        self.max_future = max_future
        self.topic = app.stream.topic
        self.state = "starting"
        self.stalls = stalls or StallWatch(app.service)
        self._lanes = [Lane(index, lanes) for index in range(lanes)]
        self._next_offsets: dict[int, int] = {}
        self._offsets_at_stall: dict[int, int] = {}
        self._generation = 0
        self._consumer = kafka

    @property
    def partitions(self) -> list[int]:
        return sorted(self._next_offsets)

    def health(self) -> tuple[bool, dict[str, object]]:
        """Healthy unless stalled; the body says why and since when."""
        body: dict[str, object] = {
            "service": self.app.service,
            "status": "stalled" if self.stalls.current else self.state,
            "partitions": self.partitions,
        }
        stall = self.stalls.current
        if stall is not None:
            since = datetime.fromtimestamp(stall.since, UTC).isoformat(timespec="seconds")
            body["stalled"] = {
                "reason": stall.reason,
                "detail": stall.detail,
                "since": since,
                "stuck_at": self._stuck_at(),
            }
        return stall is None, body

    def _stuck_at(self) -> dict[str, int]:
        """Partitions with records to read that have not moved since the stall began, and the
        offset each waits at (what `kanava skip-records --from` names)."""
        stuck = {}
        for partition, offset in self._next_offsets.items():
            highwater = self._consumer.highwater(TopicPartition(self.topic, partition))
            moved = offset != self._offsets_at_stall.get(partition)
            if not moved and highwater is not None and highwater > offset:
                stuck[str(partition)] = offset
        return stuck

    async def run(self, stop: asyncio.Event) -> None:
        self._consumer.subscribe([self.topic], listener=_Rebalance(self))
        await self._consumer.start()
        self.state = "running"
        lanes = [asyncio.create_task(self._run_lane(lane, stop)) for lane in self._lanes]
        try:
            await asyncio.gather(*lanes)
        finally:
            self.state = "stopping"
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
            await self._consumer.stop()

    async def _run_lane(self, lane: Lane, stop: asyncio.Event) -> None:
        """Fetch and validate the lane's next batch while its current one is being stored, so
        Python's work on one overlaps PostgreSQL's work on the other."""
        ahead: asyncio.Task[Fetched[E]] | None = None
        try:
            while not stop.is_set():
                try:
                    fetched = await (ahead or self._fetch(lane))
                except Exception as exc:
                    ahead = None
                    await self._retry_fetch(lane, exc, stop)
                    continue
                self.stalls.fetched()
                ahead = asyncio.create_task(self._fetch(lane))
                if fetched.records:
                    await self._handle(lane, fetched)
                self._export_lag()
        finally:
            if ahead is not None:
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ahead

    @contextlib.asynccontextmanager
    async def _all_lanes(self) -> AsyncIterator[None]:
        """Wait for every lane's batch in flight, and hold them all (in lane order)."""
        async with contextlib.AsyncExitStack() as held:
            for lane in self._lanes:
                await held.enter_async_context(lane.lock)
            yield

    async def _retry_fetch(self, lane: Lane, exc: Exception, stop: asyncio.Event) -> None:
        """A fetch failed (a batch the client cannot decode, a broker error): wait, then read
        again from the offsets stored in PostgreSQL. The client's own position may already be
        past records it read but never returned, so it is never trusted after an error."""
        reason = fetch_failure_reason(exc)
        if self.stalls.current is None:
            self._offsets_at_stall = dict(self._next_offsets)
        delay = self.stalls.failed(reason, describe(exc))
        log.error(
            "%s: cannot read %s (%s); reading again from the stored offsets in %.0f s",
            self.app.service,
            self.topic,
            describe(exc),
            delay,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return
        async with lane.lock:
            await self._reload_stored(lane)

    async def _reload_stored(self, lane: Lane) -> None:
        """Seek to the offsets in PostgreSQL, which an operator may have moved past records
        that can never be read (`kanava skip-records`)."""
        partitions = [p for p in self._next_offsets if lane.holds(p)]

        async def load() -> dict[int, int]:
            async with self.engine.connect() as conn:
                return await load_offsets(conn, self.app.service, self.topic, partitions)

        stored = await retry_transient(
            load, f"{self.app.service}: loading offsets", on_retry=self._on_database_retry
        )
        for partition in partitions:
            self._next_offsets[partition] = max(
                stored.get(partition, 0), self._next_offsets[partition]
            )
        self._seek_to_stored(lane)

    async def _fetch(self, lane: Lane) -> Fetched[E]:
        generation = self._generation
        batch = await self._read(lane)
        records = [record for records in batch.values() for record in records]
        return Fetched(generation, records, *self._validate(records))

    async def _read(self, lane: Lane) -> dict[TopicPartition, list[Record]]:
        """The next records of the lane's partitions (with one lane: of every partition the
        client owns, also those assigned while it waits)."""
        if lane.of == 1:
            return await self._consumer.getmany(
                timeout_ms=self.wait_ms, max_records=self.max_records
            )
        owned = [tp for tp in self._consumer.assignment() if lane.holds(tp.partition)]
        if not owned:  # getmany() without partitions would read them all
            await asyncio.sleep(self.wait_ms / 1000)
            return {}
        return await self._consumer.getmany(
            *owned, timeout_ms=self.wait_ms, max_records=self.max_records
        )

    async def _handle(self, lane: Lane, fetched: Fetched[E]) -> None:
        started = time.perf_counter()
        async with lane.lock:
            if fetched.generation != self._generation:
                self._seek_to_stored(lane)  # fetched around a rebalance: read it again
                return
            records, valid, rejected = self._not_yet_stored(fetched)
            if not records:
                return
            if rejected:
                await self._dead_letter(rejected)
            stored = await self._commit(records, valid)
            await self._commit_kafka(_next_offsets(records))
            if stored.too_old:
                await self._dead_letter(_too_old(records, stored.too_old))
        self._observe(records, stored, len(rejected), started)

    async def _commit(self, records: list[Record], valid: list[Consumed[E]]) -> Stored[E]:
        """Store a batch; if the database refuses it for good (not a lost connection), store
        each half on its own, down to the one event it refuses, which is dead-lettered with
        the reason, so a bad event cannot stop the service or take others with it."""
        next_offsets = _next_offsets(records)
        try:
            stored, result = await retry_transient(
                lambda: self._store(valid, next_offsets),
                f"{self.app.service}: batch of {len(records)}",
                on_retry=self._on_database_retry,
            )
        except DBAPIError as exc:
            if len(records) > 1:
                middle = len(records) // 2
                first, second = records[:middle], records[middle:]
                done = await self._commit(first, _of(valid, first))
                return done + await self._commit(second, _of(valid, second))
            refused = [Rejected(records[0], _refusal(exc))]
            await self._dead_letter(refused)
            return await self._commit(records, []) + Stored(refused=refused)
        self.state = "running"
        self.stalls.stored()
        self.app.domain.committed(result)
        self._next_offsets.update(next_offsets)
        return stored

    def _not_yet_stored(
        self, fetched: Fetched[E]
    ) -> tuple[list[Record], list[Consumed[E]], list[Rejected]]:
        """Records of partitions still owned, past the offset stored in Postgres. A partition
        counts as owned once `assigned` has read its offset: aiokafka may fetch from a new
        assignment before the listener has run, and such records are read again after the
        listener's seek."""
        owned = {tp.partition for tp in self._consumer.assignment() if tp.topic == self.topic}

        def keep(partition: int, offset: int) -> bool:
            ready = partition in owned and partition in self._next_offsets
            return ready and offset >= self._next_offsets[partition]

        return (
            [r for r in fetched.records if keep(r.partition, r.offset)],
            [c for c in fetched.valid if keep(c.partition, c.offset)],
            [x for x in fetched.rejected if keep(x.record.partition, x.record.offset)],
        )

    def _seek_to_stored(self, lane: Lane) -> None:
        for partition, offset in self._next_offsets.items():
            if lane.holds(partition):
                self._consumer.seek(TopicPartition(self.topic, partition), offset)

    def _validate(self, records: list[Record]) -> tuple[list[Consumed[E]], list[Rejected]]:
        now = datetime.now(UTC)
        valid: list[Consumed[E]] = []
        rejected: list[Rejected] = []
        for record in records:
            try:
                event = self.app.stream.parse_record(
                    record.value, record.headers, now, self.max_future
                )
            except InvalidEvent as error:
                rejected.append(Rejected(record, error))
            else:
                valid.append(Consumed(event, record.partition, record.offset))
        return valid, rejected

    async def _dead_letter(self, rejected: list[Rejected]) -> None:
        """Send the original bytes (scrubbed where the app says so) and headers, plus why and
        from where; wait for the acks."""
        for item in rejected:
            log.warning(
                "%s: dead-lettering %s/%d@%d: %s",
                self.app.service,
                item.record.topic,
                item.record.partition,
                item.record.offset,
                item.error.reason,
            )
        messages = [
            dead_letter(item.record, item.error, self.app.service, self.app.scrub)
            for item in rejected
        ]
        await publish_raw(self.producer, self.app.stream.dead_letter_topic, messages)

    async def _store(
        self, valid: list[Consumed[E]], next_offsets: dict[int, int]
    ) -> tuple[Stored[E], R]:
        async with self.engine.begin() as conn:
            applied = await apply_new(conn, self.app.service, self.app.domain, valid)
            await save_offsets(
                conn, self.app.service, self.topic, next_offsets, _newest_times(valid)
            )
        return applied

    def _on_database_retry(self, exc: BaseException) -> None:
        self.state = DATABASE_UNAVAILABLE
        self.stalls.failed(DATABASE_UNAVAILABLE, describe(exc))
        metrics.DATABASE_RETRIES.labels(self.app.service).inc()

    async def _commit_kafka(self, next_offsets: dict[int, int]) -> None:
        """Kafka's committed offsets are for lag tools; Postgres holds the real ones."""
        offsets = {TopicPartition(self.topic, p): o for p, o in next_offsets.items()}
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            log.info(
                "%s: Kafka commit skipped (%s); offsets are safe in Postgres", self.app.service, exc
            )

    def _observe(
        self, records: list[Record], stored: Stored[E], invalid: int, started: float
    ) -> None:
        service, topic = self.app.service, self.topic
        fresh, too_old = len(stored.fresh), len(stored.too_old)
        dead = invalid + len(stored.refused)
        metrics.EVENTS.labels(service, topic, "processed").inc(fresh)
        metrics.EVENTS.labels(service, topic, "duplicate").inc(
            len(records) - fresh - too_old - dead
        )
        metrics.EVENTS.labels(service, topic, "dead_lettered").inc(dead)
        metrics.EVENTS.labels(service, topic, "too_old").inc(too_old)
        metrics.BATCH_SECONDS.labels(service).observe(time.perf_counter() - started)
        now_ms = time.time() * 1000
        metrics.FRESHNESS.observe_many(
            service, [max(now_ms - record.timestamp, 0) / 1000 for record in records]
        )

    def _export_lag(self) -> None:
        for partition, next_offset in self._next_offsets.items():
            highwater = self._consumer.highwater(TopicPartition(self.topic, partition))
            if highwater is not None:
                metrics.LAG.labels(self.app.service, self.topic, str(partition)).set(
                    max(highwater - next_offset, 0)
                )

    async def assigned(self, assigned: Collection[TopicPartition]) -> None:
        """Seek to the offsets stored in Postgres, read after the batches in flight committed."""
        async with self._all_lanes():
            await self._assign([tp.partition for tp in assigned if tp.topic == self.topic])

    async def _assign(self, partitions: list[int]) -> None:

        async def load() -> dict[int, int]:
            async with self.engine.connect() as conn:
                offsets = await load_offsets(conn, self.app.service, self.topic, partitions)
                await self.app.domain.restore(conn, partitions)
            return offsets

        offsets = await retry_transient(
            load, f"{self.app.service}: loading offsets", on_retry=self._on_database_retry
        )
        for partition in partitions:
            tp = TopicPartition(self.topic, partition)
            if partition in offsets:
                self._consumer.seek(tp, offsets[partition])
            else:
                await self._consumer.seek_to_beginning(tp)
            self._next_offsets[partition] = offsets.get(partition, 0)
        self._generation += 1
        log.info("%s: assigned partitions %s", self.app.service, partitions)

    async def revoked(self, revoked: Collection[TopicPartition]) -> None:
        """Wait for the batches in flight, so the next owner reads offsets after their commit."""
        async with self._all_lanes():
            partitions = [tp.partition for tp in revoked if tp.topic == self.topic]
            self.app.domain.release(partitions)
            for partition in partitions:
                self._next_offsets.pop(partition, None)
                with contextlib.suppress(KeyError):
                    metrics.LAG.remove(self.app.service, self.topic, str(partition))


@dataclass(frozen=True)
class Stored(Generic[E]):
    """What became of a batch's valid events: the first occurrence of each id never applied
    before, the events older than the dedupe floor (never applied), and the events the
    database refused (dead-lettered)."""

    fresh: list[Consumed[E]] = field(default_factory=list)
    too_old: list[Consumed[E]] = field(default_factory=list)
    refused: list[Rejected] = field(default_factory=list)

    def __add__(self, other: Stored[E]) -> Stored[E]:
        return Stored(
            self.fresh + other.fresh, self.too_old + other.too_old, self.refused + other.refused
        )


async def apply_new(
    conn: AsyncConnection, group: str, domain: Domain[E, R], valid: Sequence[Consumed[E]]
) -> tuple[Stored[E], R]:
    """Claim the event ids and apply the first occurrence of each id never applied before;
    what became of the events, and what `apply` returned for `committed`. An event older than
    the dedupe floor cannot be told from a duplicate whose id retention dropped, so it is
    never applied: it is `too_old`."""
    floor = await dedupe_floor(conn)
    recent = [c for c in valid if c.event.time >= floor]
    new_ids = await claim_events(conn, group, [(c.event.id, c.event.time) for c in recent])
    fresh = []
    for consumed in recent:
        if consumed.event.id in new_ids:
            new_ids.discard(consumed.event.id)
            fresh.append(consumed)
    result = await domain.apply(conn, fresh)
    return Stored(fresh, [c for c in valid if c.event.time < floor]), result


def _newest_times(valid: Sequence[Consumed[E]]) -> dict[int, datetime]:
    newest: dict[int, datetime] = {}
    for consumed in valid:
        time = consumed.event.time
        if consumed.partition not in newest or time > newest[consumed.partition]:
            newest[consumed.partition] = time
    return newest


def _too_old(records: list[Record], too_old: list[Consumed[E]]) -> list[Rejected]:
    by_position = {(r.partition, r.offset): r for r in records}
    return [
        Rejected(
            by_position[(c.partition, c.offset)],
            InvalidEvent(
                "too_old",
                f"event time {c.event.time.isoformat()} is before the "
                "dedupe floor: it may be a duplicate whose id retention dropped",
            ),
        )
        for c in too_old
    ]


DeadLetter: TypeAlias = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def dead_letter(
    record: Record, error: InvalidEvent, service: str, scrub: Scrub | None = None
) -> DeadLetter:
    """A record as it goes to the dead letter topic: its key, its bytes (scrubbed where the
    service says so) and headers, plus why, which service refused it and from where."""
    value = record.value or b""
    return (
        record.key,
        value if scrub is None else scrub(value),
        [
            *record.headers,
            ("kanava-error", error.reason.encode()),
            ("kanava-error-detail", error.detail.encode()),
            ("kanava-service", service.encode()),
            ("kanava-original-topic", record.topic.encode()),
            ("kanava-original-partition", str(record.partition).encode()),
            ("kanava-original-offset", str(record.offset).encode()),
        ],
    )


def _next_offsets(records: list[Record]) -> dict[int, int]:
    next_offsets: dict[int, int] = {}
    for record in records:
        next_offsets[record.partition] = max(
            next_offsets.get(record.partition, 0), record.offset + 1
        )
    return next_offsets


def _of(valid: list[Consumed[E]], records: list[Record]) -> list[Consumed[E]]:
    """The valid events among `records`."""
    keys = {(r.partition, r.offset) for r in records}
    return [c for c in valid if (c.partition, c.offset) in keys]


def _refusal(exc: DBAPIError) -> InvalidEvent:
    """Only the error class and SQLSTATE: a database message may quote the event's values."""
    cause = exc.orig.__cause__ if exc.orig is not None else None
    sqlstate = getattr(cause, "sqlstate", None) or getattr(exc.orig, "sqlstate", "")
    return InvalidEvent(
        "rejected_by_database", f"{type(cause or exc.orig).__name__} (SQLSTATE {sqlstate})"
    )


class _Rebalance(ConsumerRebalanceListener, Generic[E, R]):  # type: ignore[misc]
    def __init__(self, owner: StreamConsumer[E, R]) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        await self.owner.revoked(revoked)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        await self.owner.assigned(assigned)
