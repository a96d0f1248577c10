"""The measurements against the running service: backlog throughput, freshness at a steady
rate, memory with many waiting clients. The service's consumer group is its name."""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from typing import Any, NamedTuple

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from bench.events import Backlog, LiveEvents, Message
from bench.infra import Infra, ServiceProcess
from bench.naive import NaiveResult
from bench.promtext import Buckets, delta, gauge_sum, histogram_buckets, percentile, quantile
from bench.together import MachineUse, measure_together
from services.common.producer import new_producer

_BY_PARTITION = "SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1"
Offsets = dict[int, int]
"""Next offset per partition of the service's topic."""


async def produce(
    bootstrap: str, topic: str, messages: Sequence[Message], chunk: int = 20_000
) -> Offsets:
    """Send everything, batched, and wait for every ack; the end offsets it reached."""
    producer = new_producer(bootstrap)
    await producer.start()
    ends: Offsets = {}
    try:
        for first in range(0, len(messages), chunk):
            futures = [
                await producer.send(topic, value=value, key=key)
                for key, value in messages[first : first + chunk]
            ]
            for metadata in await asyncio.gather(*futures):
                ends[metadata.partition] = max(ends.get(metadata.partition, 0), metadata.offset + 1)
    finally:
        await producer.stop()
    return ends


async def committed_offsets(db: asyncpg.Connection, group: str) -> Offsets:
    return {row["partition"]: row["next_offset"] for row in await db.fetch(_BY_PARTITION, group)}


async def wait_offsets(
    db: asyncpg.Connection, service: ServiceProcess, ends: Offsets, within: float
) -> float:
    """Wait until every partition committed up to `ends`; when it was (monotonic)."""
    deadline = time.monotonic() + within
    while True:
        done = await committed_offsets(db, service.name)
        if all(done.get(p, 0) >= o for p, o in ends.items()):
            return time.monotonic()
        service.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"not committed within {within} s: {done} of {ends}")
        await asyncio.sleep(0.02)


async def scrape(service: ServiceProcess) -> str:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(service.metrics_url())
        response.raise_for_status()
        return response.text


# --- 1. throughput of a backlog ----------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    events: int
    total_s: float
    """Process start to every event committed."""
    first_commit_s: float
    """Process start to the first committed batch."""
    first_batch: int
    cpu_s: float
    cpu_after_first_s: float
    peak_rss: int
    machine_busy: MachineUse
    """All CPUs (any process) from the service's start to the end."""
    other_cpu: dict[str, float]
    """CPU seconds of the broker and of PostgreSQL over the same time."""

    @property
    def rate_total(self) -> float:
        return self.events / self.total_s

    @property
    def rate_steady(self) -> float:
        return (self.events - self.first_batch) / (self.total_s - self.first_commit_s)


@dataclass(frozen=True)
class BacklogRun:
    throughput: Throughput
    outcomes: dict[str, float]
    """`kanava_consumer_events_total` by outcome."""
    batches: tuple[float, float]
    """Sum of batch seconds and number of batches, after the backlog."""


@dataclass(frozen=True)
class Measured:
    """What every service benchmark measures: the backlog consumed, the naive consumer on
    it, freshness at a steady rate, and how the service ended."""

    backlog: Backlog
    run: BacklogRun
    naive: NaiveResult
    freshness: Freshness
    exit_code: int | None


@dataclass(frozen=True)
class Rss:
    """The service's resident set size at the end of a run."""

    peak: int
    """The highest it has had (VmHWM)."""
    end: int


async def rss_at_end(service: ServiceProcess, _: asyncpg.Connection) -> Rss:
    """For `Benchmark.measure`: the service's RSS once everything was measured."""
    return Rss(service.peak_rss_bytes(), service.rss_bytes())


async def measure_throughput(
    infra: Infra,
    service: ServiceProcess,
    db: asyncpg.Connection,
    events: int,
    within: float = 900.0,
) -> Throughput:
    """Start the service on a full topic; poll the committed offsets every 50 ms."""
    run = await measure_together(infra, db, [service], {service.name: events}, within)
    group, process = run.groups[0], run.processes[0]
    return Throughput(
        events=events,
        total_s=group.done_s,
        first_commit_s=group.first_commit_s,
        first_batch=group.first_batch,
        cpu_s=process.cpu_s,
        cpu_after_first_s=process.cpu_s - group.cpu_at_first_s,
        peak_rss=process.peak_rss,
        machine_busy=run.machine_busy,
        other_cpu=run.other_cpu,
    )


# --- 3. freshness at a steady rate ---------------------------------------------------------------


@dataclass
class OffsetLog:
    """When the poller first saw each committed offset of each partition."""

    seen: dict[int, list[tuple[int, float]]] = field(default_factory=dict)

    def record(self, offsets: Offsets, at: float) -> None:
        for partition, offset in offsets.items():
            history = self.seen.setdefault(partition, [])
            if not history or offset > history[-1][0]:
                history.append((offset, at))

    def committed_at(self, partition: int, offset: int) -> float | None:
        history = self.seen.get(partition, [])
        index = bisect_right([o for o, _ in history], offset)
        return history[index][1] if index < len(history) else None

    def reached(self, ends: Offsets) -> bool:
        return all(self.seen.get(p, [(0, 0.0)])[-1][0] >= o for p, o in ends.items())


@dataclass(frozen=True)
class Freshness:
    sent: int
    send_seconds: float
    histogram_p50: float
    histogram_p99: float
    histogram_count: float
    ack_p50: float
    ack_p99: float
    ack_max: float
    matched: int

    @property
    def rate(self) -> float:
        return self.sent / self.send_seconds


async def poll_offsets(
    db: asyncpg.Connection, group: str, log: OffsetLog, stop: asyncio.Event, every: float
) -> None:
    while not stop.is_set():
        tick = time.monotonic()
        offsets = await committed_offsets(db, group)
        log.record(offsets, time.monotonic())
        await asyncio.sleep(max(0.0, every - (time.monotonic() - tick)))


async def measure_freshness(
    service: ServiceProcess,
    db: asyncpg.Connection,
    bootstrap: str,
    live: LiveEvents,
    rate: float,
    seconds: float,
) -> Freshness:
    before = await scrape(service)
    log, stop = OffsetLog(), asyncio.Event()
    poller = asyncio.create_task(poll_offsets(db, service.name, log, stop, 0.02))
    acks: list[Ack] = []
    try:
        started = time.monotonic()
        ends = await pace(bootstrap, service.topic, live, rate, seconds, acks)
        send_seconds = time.monotonic() - started
        deadline = time.monotonic() + 120
        while not log.reached(ends):
            service.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError("the paced events were not committed within 120 s")
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await poller
    after = await scrape(service)
    return _freshness(service.name, before, after, log, acks, send_seconds)


def freshness_buckets(service: str, before: str, after: str) -> Buckets:
    """The service's `kanava_event_freshness_seconds` observed between two scrapes."""
    name, labels = "kanava_event_freshness_seconds", {"service": service}
    return delta(histogram_buckets(after, name, labels), histogram_buckets(before, name, labels))


def _freshness(
    group: str,
    before: str,
    after: str,
    log: OffsetLog,
    acks: list[Ack],
    seconds: float,
) -> Freshness:
    buckets = freshness_buckets(group, before, after)
    latencies = [
        at - ack.at
        for ack in acks
        if (at := log.committed_at(ack.partition, ack.offset)) is not None
    ]
    return Freshness(
        sent=len(acks),
        send_seconds=seconds,
        histogram_p50=quantile(0.5, buckets),
        histogram_p99=quantile(0.99, buckets),
        histogram_count=buckets[-1][1] if buckets else 0.0,
        ack_p50=percentile(0.5, latencies),
        ack_p99=percentile(0.99, latencies),
        ack_max=max(latencies, default=float("nan")),
        matched=len(latencies),
    )


async def pace(
    bootstrap: str,
    topic: str,
    live: LiveEvents,
    rate: float,
    seconds: float,
    acks: list[Ack],
    tick: float = 0.01,
) -> Offsets:
    """Send `rate` events a second for `seconds`, a small batch every `tick`, each event
    timed now; records the ack of each; the end offsets."""
    producer = new_producer(bootstrap)
    await producer.start()
    try:
        plan, total, sent = live.plan(), round(rate * seconds), 0
        futures: list[asyncio.Future[Any]] = []
        started = time.monotonic()
        while sent < total:
            due = min(total, int((time.monotonic() - started) * rate) + 1)
            now = datetime.now(UTC)
            for kind, number in islice(plan, due - sent):
                message = live.message(kind, number, now)
                futures.append(await _send(producer, topic, message, kind, acks))
            sent = due
            await asyncio.sleep(tick - (time.monotonic() - started) % tick)
        results = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    ends: Offsets = {}
    for metadata in results:
        ends[metadata.partition] = max(ends.get(metadata.partition, 0), metadata.offset + 1)
    return ends


class Ack(NamedTuple):
    """The broker's acknowledgement of a paced event (monotonic time)."""

    partition: int
    offset: int
    at: float
    kind: str


async def _send(
    producer: AIOKafkaProducer, topic: str, message: Message, kind: str, acks: list[Ack]
) -> asyncio.Future[Any]:
    key, value = message
    future: asyncio.Future[Any] = await producer.send(topic, value=value, key=key)
    future.add_done_callback(partial(_acked, acks, kind))
    return future


def _acked(acks: list[Ack], kind: str, future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is None:
        metadata = future.result()
        acks.append(Ack(metadata.partition, metadata.offset, time.monotonic(), kind))


# --- 4. memory with many waiting clients ----------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    contacts: int
    rss_before: int
    rss_after: int
    peak_rss: int
    waiting: float
    seconds: float


async def measure_memory(
    service: ServiceProcess, db: asyncpg.Connection, bootstrap: str, messages: Sequence[Message]
) -> Memory:
    rss_before = service.rss_bytes()
    started = time.monotonic()
    ends = await produce(bootstrap, service.topic, messages)
    done = await wait_offsets(db, service, ends, within=600)
    waiting = gauge_sum(await scrape(service), "kanava_chat_waiting")
    return Memory(
        contacts=len(messages),
        rss_before=rss_before,
        rss_after=service.rss_bytes(),
        peak_rss=service.peak_rss_bytes(),
        waiting=waiting,
        seconds=done - started,
    )
