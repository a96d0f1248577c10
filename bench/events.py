"""Events for the benchmarks, already encoded as Kafka (key, value) pairs, and the chat ones.

A backlog is the simulator's demo county over some days, several times over if need be: each
seed is another simulated county of the same registry, its people renamed per seed so no two
seeds share one (chat: contact and agent ids prefixed with the seed), all seeds merged in
time order like one bigger county.
"""

from __future__ import annotations

import heapq
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from services.chat_metrics.queues import QueueRules
from services.common.events import Envelope, Stream
from services.common.producer import encode
from services.common.registry import Registry
from services.simulator.chat import simulate_chat

Message = tuple[bytes, bytes]
"""(key, value) of one Kafka message."""
Timed = tuple[datetime, Message]
Simulate = Callable[[int, datetime, datetime], Iterable[Timed]]
"""(seed, start, end) -> the seed's events with start <= time < end, in time order."""
SOURCE = "bench/chat_metrics"


@dataclass(frozen=True)
class Backlog:
    messages: list[Message]
    seeds: int
    days: int
    start: datetime
    end: datetime


class LiveEvents(Protocol):
    """New events at a steady pace, for the freshness measurement."""

    def plan(self) -> Iterator[tuple[str, int]]:
        """(event type, number of its subject), endlessly."""

    def message(self, kind: str, number: int, at: datetime) -> Message:
        """The event, timed `at`, with a fresh id."""


def backlog(simulate: Simulate, at_least: int, days: int, end: datetime) -> Backlog:
    """Simulated days before `end` (a local midnight), seed after seed until `at_least`
    (at least one seed)."""
    start = end - timedelta(days=days)
    seeds: list[list[Timed]] = []
    while not seeds or sum(len(s) for s in seeds) < at_least:
        seeds.append(list(simulate(len(seeds) + 1, start, end)))
        if not seeds[-1]:
            raise ValueError(f"no events between {start} and {end}")
    merged = [message for _, message in heapq.merge(*seeds, key=lambda item: item[0])]
    _check_unique_ids(merged)
    return Backlog(merged, len(seeds), days, start, end)


def chat_backlog(
    registry: Registry, tz: ZoneInfo, at_least: int, days: int, end: datetime
) -> Backlog:
    """`simulate_chat` of the registry, its contact and agent ids prefixed per seed."""

    def simulate(seed: int, start: datetime, end: datetime) -> Iterator[Timed]:
        return (_renamed(e, seed) for e in simulate_chat(registry, start, end, seed, tz))

    return backlog(simulate, at_least, days, end)


def encoded(stream: Stream[Envelope], event: Envelope) -> Timed:
    """An event as the simulator's producer sends it (keyed as docs/events.md says), with its
    time."""
    return event.time, (stream.key(event), encode(event))


def _renamed(event: Envelope, seed: int) -> Timed:
    body = event.model_dump(mode="json", exclude_none=True)
    data: dict[str, Any] = body["data"]
    for field, prefix in (("contact_id", "c"), ("agent_id", "a")):
        if field in data:
            data[field] = f"{prefix}{seed}-{data[field].split('-', 1)[1]}"
    key = data.get("contact_id") or data["agent_id"]
    return event.time, (key.encode(), dumps(body))


def _check_unique_ids(messages: Sequence[Message]) -> None:
    ids = {json.loads(value)["id"] for _, value in messages}
    if len(ids) != len(messages):
        raise ValueError(f"{len(messages) - len(ids)} duplicate event ids in the backlog")


def dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def own_message(source: str, kind: str, key: str, at: datetime, data: dict[str, Any]) -> Message:
    """One event of a benchmark's own, with a fresh id, keyed by `key`."""
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": kind,
        "time": at.isoformat(),
        "data": data,
    }
    return key.encode(), dumps(body)


def chat_message(kind: str, contact: str, at: datetime, data: dict[str, Any]) -> Message:
    """One chat event of the benchmark's own, with a fresh id."""
    return own_message(SOURCE, kind, contact, at, {"contact_id": contact, **data})


@dataclass(frozen=True)
class LiveContacts:
    """New contacts at a steady pace: each is queued, answered `answer_lag` steps later and
    closed `close_lag` steps later (a step queues one contact)."""

    prefix: str
    queues: Sequence[str]
    answer_lag: int = 1000
    close_lag: int = 3000

    def plan(self) -> Iterator[tuple[str, int]]:
        """(event type, contact number), endlessly."""
        step = 0
        while True:
            yield "chat.queued", step
            if step >= self.answer_lag:
                yield "chat.answered", step - self.answer_lag
            if step >= self.close_lag:
                yield "chat.closed", step - self.close_lag
            step += 1

    def message(self, kind: str, number: int, at: datetime) -> Message:
        contact = f"{self.prefix}-{number}"
        queue = self.queues[number % len(self.queues)]
        data: dict[str, Any] = {"queue_id": queue}
        if kind == "chat.answered":
            data["agent_id"] = f"{self.prefix}-agent-{number % 40}"
        elif kind == "chat.closed":
            data = {"resolved": True}
        return chat_message(kind, contact, at, data)


def waiting_contacts(
    count: int, rules: QueueRules, now: datetime, seed: int = 7, margin_s: float = 900.0
) -> list[Message]:
    """`count` new contacts queued within the last hour, spread over the registry's queues,
    at times the service will not time them out before `now + margin_s` (docs/events.md)."""
    rng = random.Random(seed)
    horizon = now + timedelta(seconds=margin_s)
    times = {q: fit for q in rules.known() if (fit := _still_waiting(rules, q, now, horizon))}
    if not times:
        raise ValueError("no queue accepts a waiting client now without timing it out")
    queues = sorted(times)
    messages = []
    for n in range(count):
        queue = queues[n % len(queues)]
        at = rng.choice(times[queue])
        messages.append(chat_message("chat.queued", f"bench-wait-{n}", at, {"queue_id": queue}))
    return messages


def _still_waiting(
    rules: QueueRules, queue: str, now: datetime, horizon: datetime
) -> list[datetime]:
    """The whole seconds of the last hour at which a client entering `queue` would still be
    waiting at `horizon` (none when the queue closes before it)."""
    back = (now - timedelta(seconds=s) for s in range(1, 3601))
    return [at for at in back if rules.timeout_at(queue, at) > horizon]


def queue_entries_by_month(chat: Backlog, tz: ZoneInfo) -> Counter[str]:
    """`chat.queued` and `chat.transferred` events (each enters a queue once: offered in
    docs/metrics.md) by local month `YYYY-MM` of their time."""
    months: Counter[str] = Counter()
    for _, value in chat.messages:
        event = json.loads(value)
        if event["type"] in ("chat.queued", "chat.transferred"):
            months[f"{datetime.fromisoformat(event['time']).astimezone(tz):%Y-%m}"] += 1
    return months


def last_local_midnight(tz: ZoneInfo) -> datetime:
    local = datetime.now(UTC).astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)
