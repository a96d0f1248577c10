"""Producing simulated events to Kafka: a backfill of past days, then real time.

Real time at speed 1 runs the very world of the backfill (same seed, same days, same ids): when
it continues a backfill, the clients that were waiting or in conversation are answered and closed
as the day goes on, and a later backfill over the same hours re-sends only duplicates. At any
other speed the simulated clock runs away from the calendar, so the run gets a world of its own
(a seed derived from the seed and the start time), whose ids never collide with a backfill's or
another run's; the conversations a backfill left open end as the run starts.

Feedback follows the same rule, in a stream of its own, paced like the chat: at speed 1 the run
continues the backfilled world of surveys and replies (same seed, hashing key and drop), at any
other speed it gets its world from the derived seed. A run that continues no backfill of its
world sends nothing that answers a survey sent before t0: that survey was never sent.

Pathways and contacts are two more streams, paced alike. At speed 1 a run continuing a backfill
goes on in its world, also with the later steps of the enrolments the backfill started (and of
earlier ones, as the backfill itself sends them); otherwise a run sends only the enrolments that
start from t0 on, in the world of the seed at speed 1, of the derived seed at any other speed.
Contacts have no lifecycle: a run sends the contacts from t0 on of the same worlds.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer

from services.common.events import (
    CHAT,
    CONTACT,
    FEEDBACK,
    PATHWAY,
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
    SmsReceived,
    Stream,
    SurveyAnswered,
    SurveyDeliveryFailed,
    SurveySent,
)
from services.common.producer import publish
from services.common.registry import Registry
from services.simulator.chat import envelope, from_ms, simulate_chat, simulate_days, to_ms
from services.simulator.contacts import contact_days, simulate_contacts
from services.simulator.feedback import Drop, simulate_feedback
from services.simulator.pathways import LIFETIME, pathway_world, simulate_pathways

BATCH = 5000
SURVEY_LIFETIME = timedelta(days=3)
"""Longer than any survey's events last: replies come at most two days after it was sent."""
NEVER = datetime.max.replace(tzinfo=UTC)


class Backfilled(NamedTuple):
    chat: int
    feedback: int
    pathway: int
    contact: int


async def backfill(
    producer: AIOKafkaProducer,
    registry: Registry,
    tz: ZoneInfo,
    days: int,
    seed: int,
    end: datetime | None = None,
    *,
    key: str,
    drop: Drop | None = None,
) -> Backfilled:
    """Produce the chat, feedback, pathway and contact events of the `days` local days before
    `end`'s day and of that day up to `end` (default: now); events after now are never
    produced. Recipients are hashed with `key`. Returns the counts per stream."""
    now = datetime.now(tz)
    end = now if end is None else end
    if days <= 0:
        return Backfilled(0, 0, 0, 0)
    start = datetime.combine(end.astimezone(tz).date() - timedelta(days=days), time(), tz)
    end = min(end, now)
    chat = simulate_chat(registry, start, end, seed, tz)
    feedback = simulate_feedback(registry, start, end, seed, tz, key, drop)
    pathways = simulate_pathways(registry, start, end, seed, tz)
    contacts = simulate_contacts(registry, start, end, seed, tz)
    return Backfilled(
        await publish_batches(producer, CHAT, chat),
        await publish_batches(producer, FEEDBACK, feedback),
        await publish_batches(producer, PATHWAY, pathways),
        await publish_batches(producer, CONTACT, contacts),
    )


async def publish_batches(
    producer: AIOKafkaProducer, stream: Stream[Envelope], events: Iterable[Envelope]
) -> int:
    count = 0
    batch: list[Envelope] = []
    for event in events:
        batch.append(event)
        if len(batch) >= BATCH:
            count += await publish(producer, stream, batch)
            batch = []
    if batch:
        count += await publish(producer, stream, batch)
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
    """Simulate the chat from t0 on, `speed` times faster than real time, until `stop` is set.

    t0 is `start` when the run continues a backfill of the same seed that ended there, else
    now. An event at simulated time s is sent at wall time t0 + (s - t0) / speed and stamped
    with that time. The run begins with the presence of the professionals on duty at t0.
    Returns the number of events sent.
    """

    def events(t0: datetime, continuing: bool) -> Iterator[tuple[int, Envelope]]:
        if not any(q.opening_hours is None or q.opening_hours.days for q in registry.queues):
            return iter(())  # a registry that never opens: nothing to simulate, ever
        return realtime_events(registry, tz, seed, speed, t0, continuing=continuing)

    return await run_paced(producer, CHAT, events, tz, speed, stop, start)


async def run_realtime_feedback(
    producer: AIOKafkaProducer,
    registry: Registry,
    tz: ZoneInfo,
    seed: int,
    speed: float,
    stop: asyncio.Event,
    *,
    key: str,
    drop: Drop | None = None,
    start: datetime | None = None,
) -> int:
    """Simulate the feedback from t0 on, as `run_realtime` does the chat; recipients hashed
    with `key`. Returns the number of events sent."""

    def events(t0: datetime, continuing: bool) -> Iterator[tuple[int, Envelope]]:
        return realtime_feedback(registry, tz, seed, speed, t0, key, drop, continuing)

    return await run_paced(producer, FEEDBACK, events, tz, speed, stop, start)


async def run_realtime_pathways(
    producer: AIOKafkaProducer,
    registry: Registry,
    tz: ZoneInfo,
    seed: int,
    speed: float,
    stop: asyncio.Event,
    *,
    start: datetime | None = None,
) -> int:
    """Simulate the pathways from t0 on, as `run_realtime` does the chat. Returns the number of
    events sent."""

    def events(t0: datetime, continuing: bool) -> Iterator[tuple[int, Envelope]]:
        return realtime_pathways(registry, tz, seed, speed, t0, continuing)

    return await run_paced(producer, PATHWAY, events, tz, speed, stop, start)


async def run_realtime_contacts(
    producer: AIOKafkaProducer,
    registry: Registry,
    tz: ZoneInfo,
    seed: int,
    speed: float,
    stop: asyncio.Event,
    *,
    start: datetime | None = None,
) -> int:
    """Simulate the contacts from t0 on, as `run_realtime` does the chat. Returns the number of
    events sent."""

    def events(t0: datetime, continuing: bool) -> Iterator[tuple[int, Envelope]]:
        return realtime_contacts(registry, tz, seed, speed, t0)

    return await run_paced(producer, CONTACT, events, tz, speed, stop, start)


async def run_paced(
    producer: AIOKafkaProducer,
    stream: Stream[Envelope],
    events: Callable[[datetime, bool], Iterable[tuple[int, Envelope]]],
    tz: ZoneInfo,
    speed: float,
    stop: asyncio.Event,
    start: datetime | None,
) -> int:
    """`pace` the events that `events(t0, continuing)` gives: t0 is `start` when the run
    continues a backfill that ended there, else now."""
    check_speed(speed)
    t0 = from_ms(to_ms(start or datetime.now(tz)), tz)
    return await pace(producer, stream, events(t0, start is not None), t0, tz, speed, stop)


def check_speed(speed: float) -> None:
    if not speed > 0:
        raise ValueError(f"speed must be positive, not {speed}")


async def pace(
    producer: AIOKafkaProducer,
    stream: Stream[Envelope],
    events: Iterable[tuple[int, Envelope]],
    t0: datetime,
    tz: ZoneInfo,
    speed: float,
    stop: asyncio.Event,
) -> int:
    """Send (simulated milliseconds after t0, event) to `stream` as their time comes, each
    stamped with the wall time it is due (t0 + offset / speed), until `stop` is set; what is
    due already goes at once, in batches. Returns the number of events sent."""
    loop = asyncio.get_running_loop()
    # The loop clock when the wall clock read t0: events up to now are due at once.
    zero = loop.time() - (datetime.now(tz) - t0).total_seconds()
    count = 0
    batch: list[Envelope] = []
    for offset_ms, event in events:
        due = zero + offset_ms / speed / 1000
        if due > loop.time() or len(batch) >= BATCH:
            count += await publish(producer, stream, batch) if batch else 0
            batch = []
            if await stopped(stop, due):
                return count
        stamp = from_ms(to_ms(t0) + int(offset_ms / speed), tz)
        batch.append(event.model_copy(update={"time": stamp}))
    count += await publish(producer, stream, batch) if batch else 0
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


def realtime_feedback(
    registry: Registry,
    tz: ZoneInfo,
    seed: int,
    speed: float,
    t0: datetime,
    key: str,
    drop: Drop | None,
    continuing: bool,
) -> Iterator[tuple[int, Envelope]]:
    """(simulated milliseconds after t0, feedback event) of a real-time run; see the module's
    doc."""
    if not registry.units:
        return iter(())  # no unit sends surveys: nothing to simulate, ever
    if speed == 1 and continuing:
        world, since = seed, t0  # the backfill sent what came before
    else:
        world = seed if speed == 1 else derived_seed(seed, t0)
        since = t0 - SURVEY_LIFETIME  # from early enough to know the surveys sent before t0
    return whole_surveys(simulate_feedback(registry, since, NEVER, world, tz, key, drop), t0)


def realtime_pathways(
    registry: Registry, tz: ZoneInfo, seed: int, speed: float, t0: datetime, continuing: bool
) -> Iterator[tuple[int, Envelope]]:
    """(simulated milliseconds after t0, pathway event) of a real-time run; see the module's
    doc."""
    t0_ms = to_ms(t0)
    if speed == 1 and continuing:
        world = pathway_world(registry, t0.date() - LIFETIME, seed, tz)
        return ((p.moment - t0_ms, p.event(tz)) for p in world if p.moment >= t0_ms)
    world = pathway_world(registry, t0.date(), seed if speed == 1 else derived_seed(seed, t0), tz)
    return ((p.moment - t0_ms, p.event(tz)) for p in world if p.started >= t0_ms)


def realtime_contacts(
    registry: Registry, tz: ZoneInfo, seed: int, speed: float, t0: datetime
) -> Iterator[tuple[int, Envelope]]:
    """(simulated milliseconds after t0, contact event) of a real-time run; see the module's
    doc."""
    t0_ms = to_ms(t0)
    world = contact_days(registry, t0.date(), seed if speed == 1 else derived_seed(seed, t0), tz)
    return ((moment - t0_ms, event) for moment, event in world if moment >= t0_ms)


def whole_surveys(events: Iterable[Envelope], t0: datetime) -> Iterator[tuple[int, Envelope]]:
    """(milliseconds after t0, event) from t0 on, without the events of the surveys sent
    before t0 (their delivery failures and answers, the SMS replies to them): their sending
    was never sent."""
    t0_ms = to_ms(t0)
    surveys: set[str] = set()
    recipients: set[str] = set()
    for event in events:
        moment = to_ms(event.time)
        if moment < t0_ms:
            if isinstance(event, SurveySent):
                surveys.add(event.data.survey_id)
                if event.data.recipient:
                    recipients.add(event.data.recipient)
            continue
        if isinstance(event, SurveySent) and event.data.recipient:
            recipients.discard(event.data.recipient)  # their replies are now to this survey
        if not follows(event, surveys, recipients):
            yield moment - t0_ms, event


def follows(event: Envelope, surveys: set[str], recipients: set[str]) -> bool:
    """Whether `event` follows one of `surveys`, those whose recipients are `recipients`."""
    if isinstance(event, SmsReceived):
        return event.data.recipient in recipients
    if isinstance(event, SurveyDeliveryFailed | SurveyAnswered):
        return event.data.survey_id in surveys
    return False


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
