"""Producing simulated events to Kafka: a backfill of past days, then real time.

Real time at speed 1 runs the very world of the backfill (same seed, same days, same ids): when
it continues a backfill, the clients that were waiting or in conversation are answered and closed
as the day goes on, and a later backfill over the same hours re-sends only duplicates. At any
other speed the simulated clock runs away from the calendar, so the run gets a world of its own
(a seed derived from the seed and the start time), whose ids never collide with a backfill's or
another run's; the conversations a backfill left open end as the run starts.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer

from services.common.events import (
    CHAT,
    AgentStatus,
    ChatAbandoned,
    ChatAbandonedData,
    ChatBotResolved,
    ChatClosed,
    ChatClosedData,
    ChatQueued,
    ChatStarted,
    ChatTransferred,
    ContactData,
    Envelope,
)
from services.common.producer import publish
from services.common.registry import Registry
from services.simulator.chat import envelope, from_ms, simulate_chat, simulate_days, to_ms

BATCH = 5000


async def backfill(
    producer: AIOKafkaProducer,
    registry: Registry,
    tz: ZoneInfo,
    days: int,
    seed: int,
    end: datetime | None = None,
) -> int:
    """Produce the chat events of the `days` local days before `end`'s day and of that day up
    to `end` (default: now); events after now are never produced. Returns the count."""
    now = datetime.now(tz)
    end = now if end is None else end
    if days <= 0:
        return 0
    start = datetime.combine(end.astimezone(tz).date() - timedelta(days=days), time(), tz)
    return await publish_batches(producer, simulate_chat(registry, start, min(end, now), seed, tz))


async def publish_batches(producer: AIOKafkaProducer, events: Iterable[Envelope]) -> int:
    count = 0
    batch: list[Envelope] = []
    for event in events:
        batch.append(event)
        if len(batch) >= BATCH:
            count += await publish(producer, CHAT, batch)
            batch = []
    if batch:
        count += await publish(producer, CHAT, batch)
    return count


async def run_realtime(
    producer: AIOKafkaProducer,
    registry: Registry,
    tz: ZoneInfo,
    seed: int,
    speed: float,
    stop: asyncio.Event,
    *,
    start: datetime | None = None,
) -> int:
    """Simulate from t0 on, `speed` times faster than real time, until `stop` is set.

    t0 is `start` when the run continues a backfill of the same seed that ended there, else
    now. An event at simulated time s is sent at wall time t0 + (s - t0) / speed and stamped
    with that time. The run begins with the presence of the professionals on duty at t0.
    Returns the number of events sent.
    """
    if not speed > 0:
        raise ValueError(f"speed must be positive, not {speed}")
    loop = asyncio.get_running_loop()
    now = datetime.now(tz)
    t0 = from_ms(to_ms(start or now), tz)
    # The loop clock when the wall clock read t0: events up to now are due at once.
    zero = loop.time() - (now - t0).total_seconds()
    events = realtime_events(registry, tz, seed, speed, t0, continuing=start is not None)
    if not any(q.opening_hours is None or q.opening_hours.days for q in registry.queues):
        events = iter(())  # a registry that never opens: nothing to simulate, ever
    count = 0
    batch: list[Envelope] = []
    for offset_ms, event in events:
        due = zero + offset_ms / speed / 1000
        if due > loop.time() or len(batch) >= BATCH:
            count += await publish(producer, CHAT, batch) if batch else 0
            batch = []
            if await stopped(stop, due):
                return count
        stamp = from_ms(to_ms(t0) + int(offset_ms / speed), tz)
        batch.append(event.model_copy(update={"time": stamp}))
    count += await publish(producer, CHAT, batch) if batch else 0
    await stop.wait()
    return count


def realtime_events(
    registry: Registry, tz: ZoneInfo, seed: int, speed: float, t0: datetime, continuing: bool
) -> Iterator[tuple[int, Envelope]]:
    """(simulated milliseconds after t0, event) of a real-time run; see the module's doc."""
    t0_ms, day = to_ms(t0), t0.date() - timedelta(days=1)
    if speed == 1:
        world = simulate_days(registry, day, seed, tz)
        return from_start(world, t0_ms, skip_earlier_contacts=not continuing)
    own = from_start(simulate_days(registry, day, derived_seed(seed, t0), tz), t0_ms, True)
    if not continuing:
        return own
    return itertools.chain(handover(simulate_days(registry, day, seed, tz), t0), own)


async def stopped(stop: asyncio.Event, until: float) -> bool:
    """Wait for `stop` until the event loop's clock reads `until`; whether it is set."""
    try:
        async with asyncio.timeout_at(until):
            await stop.wait()
    except TimeoutError:
        return False
    return True


def derived_seed(seed: int, t0: datetime) -> int:
    digest = hashlib.sha256(f"{seed}/{t0.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def from_start(
    events: Iterator[tuple[int, Envelope]], start_ms: int, skip_earlier_contacts: bool
) -> Iterator[tuple[int, Envelope]]:
    """(milliseconds after start, event) from `start_ms` on, led by the agents then on duty.

    With `skip_earlier_contacts`, contacts that had events before the start are left out:
    their beginning was never sent, so their end must not be either.
    """
    presence: dict[str, AgentStatus] = {}
    earlier: set[str] = set()
    announced = False
    for moment, event in events:
        if moment < start_ms:
            if isinstance(event, AgentStatus):
                presence[event.data.agent_id] = event
            else:
                earlier.add(contact_of(event))
            continue
        if not announced:
            announced = True
            for status in presence.values():
                if status.data.status != "offline":
                    event_id = uuid.uuid5(uuid.UUID(status.id), str(start_ms))
                    yield 0, status.model_copy(update={"id": str(event_id)})
        if skip_earlier_contacts and contact_of(event) in earlier:
            continue
        yield moment - start_ms, event


def handover(
    events: Iterator[tuple[int, Envelope]], t0: datetime
) -> Iterator[tuple[int, Envelope]]:
    """End, at t0, what the world of `events` left open then: chats with the bot or waiting
    in a queue (entered or transferred in) end unanswered, conversations close (resolved
    unknown), professionals log off."""
    t0_ms = to_ms(t0)
    open_at_t0: dict[str, Envelope] = {}
    presence: dict[str, AgentStatus] = {}
    for moment, event in events:
        if moment >= t0_ms:
            break
        if isinstance(event, AgentStatus):
            presence[event.data.agent_id] = event
        elif isinstance(event, ChatBotResolved | ChatAbandoned | ChatClosed):
            open_at_t0.pop(event.data.contact_id, None)
        else:
            open_at_t0[contact_of(event)] = event
    for contact, last in open_at_t0.items():
        event_id = uuid.uuid5(uuid.UUID(last.id), f"handover/{t0_ms}")
        if isinstance(last, ChatStarted):
            ended = envelope(ChatBotResolved, event_id, t0, ContactData(contact_id=contact))
        elif isinstance(last, ChatQueued | ChatTransferred):
            queue = last.data.queue_id if isinstance(last, ChatQueued) else last.data.to_queue_id
            left = ChatAbandonedData(contact_id=contact, queue_id=queue)
            ended = envelope(ChatAbandoned, event_id, t0, left)
        else:
            ended = envelope(ChatClosed, event_id, t0, ChatClosedData(contact_id=contact))
        yield 0, ended
    for status in presence.values():
        if status.data.status != "offline":
            event_id = uuid.uuid5(uuid.UUID(status.id), f"handover/{t0_ms}")
            offline = status.data.model_copy(update={"status": "offline"})
            yield 0, envelope(AgentStatus, event_id, t0, offline)


def contact_of(event: Envelope) -> str:
    contact: str = getattr(getattr(event, "data", None), "contact_id", "")
    return contact
