"""The chat model: a deterministic discrete-event simulation of the registry's chat queues.

The simulation runs day by day (local days). Queues linked by transfers (`TRANSFERS`, both ends in
the registry) form a group that lives through a day together: one clock, one generator seeded by
(seed, day, the group's queue ids, sorted and joined by "+"), so a client can cross from one queue
to another within the day. A queue linked to no other is a group of its own, seeded by (seed,
day, queue) as before. The same day therefore always gives the same events, whatever range is
asked for: a repeated backfill re-sends identical events (same ids, which consumers drop as
duplicates), and adding a queue to the registry leaves the events of the groups it does not join
as they were.

A queue's day: professionals work shifts sized to the expected load, except on short-staffed
days (one in `SHORT_STAFFED_EVERY` of a queue's days, the same for every seed), when a queue
that plans 3 or more professionals has `SHORT_BY` fewer from 9 to 12 (sick leave: the staffing
advice and its alert have something to show); clients arrive while the
queue is open (Poisson, the hourly rate shaped by hour of day and weekday), some first talk with
the chatbot; one FIFO queue hands each client to the least-loaded professional with a free slot,
who picks the chat up after a short delay; impatient clients leave; conversations close after a
lognormal time. Clients still waiting at closing time are abandoned (`closed_hours`), except in
a queue that stays open past midnight, where the day's last professionals serve the queue empty.
Public holidays are not modelled.

Transfers (jonosiirto), only while the target queue is open:
- triage: the nurse ends a share of the answered health-station conversations by handing the
  client over to the doctor chat (`chat.transferred` instead of `chat.closed`; the nurse's slot
  frees). The share is set each day so that the handovers meet the doctor chat's volume
  (`queued_per_weekday`), and the doctor chat then gets no direct clients (it does only on a
  day its triage source is missing from the registry or closed).
- re-routing: the queue system moves a few waiting health-station clients to the rehabilitation
  chat shortly after they enter, if they are still unanswered then.
A transferred client waits in the target queue like any other (no `chat.queued`), and is answered
by its professionals, or abandons. A contact gets at most one `chat.closed`, at its very end.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, partial
from typing import Literal, TypeVar, get_args
from zoneinfo import ZoneInfo

from services.common.events import (
    AgentStatus,
    AgentStatusData,
    ChatAbandoned,
    ChatAbandonedData,
    ChatAnswered,
    ChatAnsweredData,
    ChatBotResolved,
    ChatClosed,
    ChatClosedData,
    ChatQueued,
    ChatQueuedData,
    ChatStarted,
    ChatStartedData,
    ChatTransferred,
    ChatTransferredData,
    ContactData,
    Data,
    Envelope,
)
from services.common.registry import WEEKDAYS, Queue, Registry

SOURCE = "simulator/kaiku24"


@dataclass(frozen=True)
class QueueProfile:
    """Volume and behaviour of one queue."""

    queued_per_weekday: float
    """Entries into the human queue on an average open weekday: clients who come straight or
    through the chatbot, or, for a queue reached through triage, the clients handed over."""
    bot_share: float = 0.3
    """Share of chats that start with the chatbot."""
    authenticated_share: float = 1.0
    handle_median_s: float = 12 * 60
    min_agents: int = 1


# Calibrated on Kymenlaakso's chat services (docs/calibration.md#chat).
PROFILES: dict[str, QueueProfile] = {
    # 26 660 handled chats 14.1.-31.10.2025, ≈ 130 a weekday; ≈ 4 nurses, more at the peak.
    "terveysasema-chat": QueueProfile(135.0, min_agents=3),
    # 104 consultations in its first month; clients come from the nurse's triage, not the bot.
    "laakari-chat": QueueProfile(5.0, bot_share=0.0, handle_median_s=15 * 60),
    # 102 contacts in its first 14 days.
    "pitkaaikaissairaudet-chat": QueueProfile(7.0, bot_share=0.2),
    # 563 contacts Jan-Oct 2025 (≈ 2.7 a weekday), of which ≈ 0.7 a weekday re-routed from the
    # health-station chat; identified or anonymous.
    "kuntoutus-chat": QueueProfile(2.0, authenticated_share=0.6),
    # "A few a day"; identified or anonymous.
    "sosiaalineuvonta-chat": QueueProfile(4.0, authenticated_share=0.5, handle_median_s=15 * 60),
}
DEFAULT_PROFILE = QueueProfile(5.0)


@dataclass(frozen=True)
class Route:
    """Clients moved from one queue to another (jonosiirto, docs/calibration.md#chat)."""

    from_queue: str
    to_queue: str
    kind: Literal["triage", "reroute"]
    """triage: answered conversations handed over, as many as the target's volume; reroute:
    a share of the clients entering `from_queue` while the target is open, before an answer."""
    share: float = 0.0
    """reroute: the share of clients marked to be moved."""


TRANSFERS: tuple[Route, ...] = (
    # The doctor chat is reached from the nurse's triage (docs/calibration.md#chat).
    Route("terveysasema-chat", "laakari-chat", "triage"),
    # ≈ 1 % of those waiting while the rehabilitation chat is open; some are answered first.
    Route("terveysasema-chat", "kuntoutus-chat", "reroute", 0.013),
)

# Relative arrival rate by local hour: a morning peak, as in health-station chat.
HOUR_WEIGHT = (
    0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.4, 1.6, 1.5, 1.3, 1.1,
    1.0, 1.0, 0.9, 0.8, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.2, 0.15,
)  # fmt: skip
WEEKDAY_FACTOR = (1.2, 1.05, 1.0, 0.95, 0.8, 0.5, 0.5)

BOT_RESOLVED_SHARE = 0.65
BOT_MEDIAN_S, BOT_SIGMA = 80.0, 0.6
# A professional with open chats notices a new one later: the pick-up delay grows with load.
PICKUP_MEDIAN_S, PICKUP_LOAD_FACTOR, PICKUP_SIGMA = 35.0, 0.8, 0.7
HANDLE_SIGMA = 0.55
SHORT_ABANDON_SHARE = 0.03
PATIENCE_MEDIAN_S, PATIENCE_SIGMA = 360.0, 0.9
# Of the health-station entries while the doctor chat is open, the share whose conversation
# ends there answered: the base of the daily triage share.
TRIAGE_BASE_SHARE = 0.93
# The queue system re-routes a marked client this long after the entry.
REROUTE_MEDIAN_S, REROUTE_SIGMA = 20.0, 0.6
RESOLVED: tuple[tuple[bool | None, float], ...] = ((True, 0.68), (False, 0.27), (None, 0.05))
LANGUAGES: tuple[tuple[str, float], ...] = (("fi", 0.93), ("sv", 0.03), ("en", 0.04))
CAPACITIES = (2, 3)
MEAN_CAPACITY = 2.5
SHORT_STAFFED_EVERY = 5
SHORT_BY = 2
SHORT_HOURS = range(9, 12)
MAX_SHIFT_MS = 8 * 3_600_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR_MS = 3_600_000
T = TypeVar("T")


def simulate_chat(
    registry: Registry, start: datetime, end: datetime, seed: int, tz: ZoneInfo
) -> Iterator[Envelope]:
    """Chat events with start <= time < end, in non-decreasing time, local times in `tz`.

    Whole days are simulated and the result is cut at `start` and `end`: a contact whose
    lifecycle crosses either bound shows only its events inside. Ranges that begin and end at
    local midnight cut nothing, as no queue of the demo registry is open at midnight.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    start_ms, end_ms = to_ms(start), to_ms(end)
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    for moment, event in simulate_days(registry, first_day, seed, tz):
        if moment >= end_ms:
            return
        if moment >= start_ms:
            yield event


def simulate_days(
    registry: Registry, first_day: date, seed: int, tz: ZoneInfo
) -> Iterator[tuple[int, Envelope]]:
    """(epoch milliseconds, event) of every day from `first_day` on, endlessly, in time order."""
    pending: list[tuple[int, int, Envelope]] = []
    order = itertools.count()
    day = first_day
    while True:
        for moment, event in simulate_day(registry, day, seed, tz):
            heapq.heappush(pending, (moment, next(order), event))
        day += timedelta(days=1)
        # A day's events start at its first opening, so nothing later comes before midnight.
        horizon = to_ms(datetime.combine(day, time(), tz))
        while pending and pending[0][0] < horizon:
            moment, _, event = heapq.heappop(pending)
            yield moment, event


def simulate_day(
    registry: Registry, day: date, seed: int, tz: ZoneInfo
) -> list[tuple[int, Envelope]]:
    """The events of one local day of every queue, sorted by time."""
    events: list[tuple[int, Envelope]] = []
    for group in transfer_groups(registry):
        key = "+".join(queue.id for queue in group)
        rng = random.Random(f"kanava-chat/{seed}/{day.isoformat()}/{key}")
        events += simulate_group(group, day, tz, rng)
    events.sort(key=lambda item: item[0])
    return events


def transfer_groups(registry: Registry) -> list[list[Queue]]:
    """The registry's queues grouped by the transfers that link them, each sorted by id."""
    group_of = {queue.id: {queue.id} for queue in registry.queues}
    for route in TRANSFERS:
        if route.from_queue in group_of and route.to_queue in group_of:
            merged = group_of[route.from_queue] | group_of[route.to_queue]
            for queue_id in merged:
                group_of[queue_id] = merged
    queues = {queue.id: queue for queue in registry.queues}
    groups = {tuple(sorted(ids)) for ids in group_of.values()}
    return [[queues[queue_id] for queue_id in ids] for ids in sorted(groups)]


def simulate_group(
    queues: list[Queue], day: date, tz: ZoneInfo, rng: random.Random
) -> list[tuple[int, Envelope]]:
    """One local day of queues linked by transfers, on one clock: their events in time order."""
    clock = Clock()
    events: list[tuple[int, Envelope]] = []
    days = {
        queue.id: QueueDay(
            queue, PROFILES.get(queue.id, DEFAULT_PROFILE), day, tz, clock, rng, events
        )
        for queue in queues
    }
    for route in TRANSFERS:
        source, target = days.get(route.from_queue), days.get(route.to_queue)
        if source is None or target is None:
            continue
        if route.kind == "reroute":
            source.reroutes.append((target, route.share))
        elif (share := triage_share(source, target)) > 0:
            source.triage, source.triage_share = target, share
            target.direct = False
    for queue_day in days.values():
        queue_day.start()
    clock.run()
    return events


def triage_share(source: QueueDay, target: QueueDay) -> float:
    """The share of answered conversations of `source` handed over to `target` that day: the
    target's expected volume over the source's entries while the target is open."""
    if target.opening is None:
        return 0.0
    handovers = target.expected_entries(target.opening)
    base = source.expected_entries(target.opening) * TRIAGE_BASE_SHARE
    return min(1.0, handovers / base) if base > 0 else 0.0


def to_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ms(moment: int, tz: ZoneInfo) -> datetime:
    seconds, millis = divmod(moment, 1000)
    return datetime.fromtimestamp(seconds, tz).replace(microsecond=millis * 1000)


# --- the day plan: opening, expected load, shifts ----------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A part of one local clock hour during which the queue is open."""

    start: int
    end: int
    hour: int


@dataclass(frozen=True)
class Shift:
    start: int
    end: int


def open_interval(queue: Queue, day: date, tz: ZoneInfo) -> tuple[int, int] | None:
    """The day's opening as epoch milliseconds [open, close), or None when closed all day."""
    midnight = datetime.combine(day + timedelta(days=1), time(), tz)
    if queue.opening_hours is None:
        return to_ms(datetime.combine(day, time(), tz)), to_ms(midnight)
    hours = queue.opening_hours.days.get(WEEKDAYS[day.weekday()])
    if hours is None:
        return None
    close = midnight if hours[1] == time.max else datetime.combine(day, hours[1], tz)
    return to_ms(datetime.combine(day, hours[0], tz)), to_ms(close)


def segments(day: date, opening: tuple[int, int], tz: ZoneInfo) -> list[Segment]:
    parts = []
    for hour in range(24):
        start = to_ms(datetime.combine(day, time(hour), tz))
        end = to_ms(
            datetime.combine(day, time(hour + 1), tz)
            if hour < 23
            else datetime.combine(day + timedelta(days=1), time(), tz)
        )
        start, end = max(start, opening[0]), min(end, opening[1])
        if start < end:
            parts.append(Segment(start, end, hour))
    return parts


def queued_per_hour(profile: QueueProfile, day: date, parts: list[Segment]) -> list[float]:
    """Expected queue entries per hour in each segment: the day's volume shaped by hour."""
    weights = [HOUR_WEIGHT[p.hour] for p in parts]
    total = sum(w * (p.end - p.start) / _HOUR_MS for w, p in zip(weights, parts, strict=True))
    volume = profile.queued_per_weekday * WEEKDAY_FACTOR[day.weekday()]
    return [volume * w / total for w in weights] if total > 0 else [0.0 for _ in parts]


def staff_needed(profile: QueueProfile, per_hour: float) -> int:
    """Professionals for an hour: the offered load with a safety margin, in chat slots."""
    load = per_hour * mean_handle_s(profile) / 3600
    slots = 1.5 * load + 1.5 * math.sqrt(load) + 1
    return max(profile.min_agents, math.ceil(slots / MEAN_CAPACITY))


def short_staffed(queue_id: str, day: date) -> bool:
    """Whether the queue is short of professionals that day (a hash: every seed agrees)."""
    return zlib.crc32(f"{queue_id}|{day.isoformat()}".encode()) % SHORT_STAFFED_EVERY == 0


def mean_handle_s(profile: QueueProfile) -> float:
    return profile.handle_median_s * math.exp(HANDLE_SIGMA**2 / 2)


def plan_shifts(parts: list[Segment], staff: list[int]) -> list[Shift]:
    """Shifts covering the staffing level of every segment, none longer than 8 h.

    Professional k works wherever at least k are needed; a long run is split into shifts of
    similar length, so no id works through midnight into the next day's first shift.
    """
    shifts = []
    for k in range(1, max(staff, default=0) + 1):
        runs = [
            list(group)
            for needed, group in itertools.groupby(
                zip(parts, staff, strict=True), key=lambda item: item[1] >= k
            )
            if needed
        ]
        for run in runs:
            length = run[-1][0].end - run[0][0].start
            size = math.ceil(len(run) / math.ceil(length / MAX_SHIFT_MS))
            for first in range(0, len(run), size):
                piece = run[first : first + size]
                shifts.append(Shift(piece[0][0].start, piece[-1][0].end))
    return sorted(shifts, key=lambda s: (s.start, -s.end))


# --- the simulation of one queue's day ---------------------------------------------------------


class Clock:
    """The future actions of a discrete-event simulation, run in time order (ties: FIFO)."""

    def __init__(self) -> None:
        self.now = 0
        self._actions: list[tuple[int, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def at(self, moment: int, action: Callable[[], None]) -> None:
        heapq.heappush(self._actions, (moment, next(self._order), action))

    def after(self, delay: int, action: Callable[[], None]) -> None:
        self.at(self.now + delay, action)

    def run(self) -> None:
        while self._actions:
            self.now, _, action = heapq.heappop(self._actions)
            action()


@dataclass(frozen=True)
class Client:
    contact_id: str
    language: str
    authenticated: bool


@dataclass(eq=False)
class Agent:
    agent_id: str
    capacity: int
    active: int = 0
    """Chats picked up or in conversation."""
    on_shift: bool = False


@dataclass(eq=False)
class Visit:
    client: Client
    state: Literal["waiting", "picking", "answered", "ended"] = "waiting"
    agent: Agent | None = None


class QueueDay:
    """One queue through one local day, on the clock of its transfer group; `start()` plans it,
    the clock's run makes its events (into the group's list, with their epoch ms)."""

    def __init__(
        self,
        queue: Queue,
        profile: QueueProfile,
        day: date,
        tz: ZoneInfo,
        clock: Clock,
        rng: random.Random,
        events: list[tuple[int, Envelope]],
    ) -> None:
        self.queue, self.profile, self.day, self.tz = queue, profile, day, tz
        self.clock, self.rng, self.events = clock, rng, events
        self.opening = open_interval(queue, day, tz)
        self.parts = [] if self.opening is None else segments(day, self.opening, tz)
        self.per_hour = queued_per_hour(profile, day, self.parts)
        self.waiting: deque[Visit] = deque()
        self.agents: list[Agent] = []
        self.open = False
        self.carry_over = False
        self.direct = True
        """Clients arrive on their own (not only through triage)."""
        self.triage: QueueDay | None = None
        self.triage_share = 0.0
        self.reroutes: list[tuple[QueueDay, float]] = []

    def expected_entries(self, window: tuple[int, int]) -> float:
        """Expected entries into the queue within [start, end) epoch milliseconds."""
        return sum(
            rate * max(0, min(part.end, window[1]) - max(part.start, window[0])) / _HOUR_MS
            for part, rate in zip(self.parts, self.per_hour, strict=True)
        )

    def start(self) -> None:
        if self.opening is None:
            return
        opening = self.opening
        midnight = datetime.combine(self.day + timedelta(days=1), time(), self.tz)
        self.carry_over = opening[1] == to_ms(midnight) and self.queue.is_open(midnight)
        # Opening and closing first: at their instant they run before anything else then.
        self.clock.at(opening[0], self.open_queue)
        self.clock.at(opening[1], self.close_queue)
        staff = [staff_needed(self.profile, rate) for rate in self.per_hour]
        if short_staffed(self.queue.id, self.day):
            staff = [
                s - SHORT_BY if s >= 3 and part.hour in SHORT_HOURS else s
                for s, part in zip(staff, self.parts, strict=True)
            ]
        self.plan_agents(opening[1], plan_shifts(self.parts, staff))
        if self.direct:
            for moment in self.arrival_times(self.parts, self.per_hour):
                self.clock.at(moment, self.arrive)

    def plan_agents(self, closing: int, shifts: list[Shift]) -> None:
        for n, shift in enumerate(shifts, start=1):
            agent = Agent(f"a-{self.queue.id}-{n}", self.rng.choice(CAPACITIES))
            self.agents.append(agent)
            self.clock.at(shift.start, partial(self.start_shift, agent))
            if shift.end < closing:  # shifts ending at closing end in close_queue
                self.clock.at(shift.end, partial(self.end_shift, agent))

    def arrival_times(self, parts: list[Segment], per_hour: list[float]) -> list[int]:
        """A Poisson process of chat starts, piecewise constant by segment."""
        # Bot-resolved chats never reach the queue: start more chats than the queue's volume.
        reach_queue = 1 - self.profile.bot_share * BOT_RESOLVED_SHARE
        times = []
        for part, rate in zip(parts, per_hour, strict=True):
            per_ms = rate / reach_queue / _HOUR_MS
            moment = float(part.start)
            while per_ms > 0:
                moment += self.rng.expovariate(per_ms)
                if moment >= part.end:
                    break
                times.append(int(moment))
        return times

    # -- clients

    def arrive(self) -> None:
        rng = self.rng
        client = Client(
            contact_id=f"c-{rng.getrandbits(48)}",
            language=self.pick(LANGUAGES),
            authenticated=rng.random() < self.profile.authenticated_share,
        )
        if rng.random() < self.profile.bot_share:
            # The chatbot is anonymous; clients identify when handed over to a queue.
            self.emit(
                ChatStarted,
                ChatStartedData(
                    contact_id=client.contact_id,
                    entry="bot",
                    authenticated=False,
                    language=client.language,
                ),
            )
            self.clock.after(
                self.duration_ms(BOT_MEDIAN_S, BOT_SIGMA, 10, 900), partial(self.leave_bot, client)
            )
        else:
            self.emit(
                ChatStarted,
                ChatStartedData(
                    contact_id=client.contact_id,
                    entry="queue",
                    authenticated=client.authenticated,
                    language=client.language,
                ),
            )
            self.enqueue(client, via_bot=False)

    def leave_bot(self, client: Client) -> None:
        # A handover is impossible once the queue has closed: the bot ends the session.
        if self.open and self.rng.random() >= BOT_RESOLVED_SHARE:
            self.enqueue(client, via_bot=True)
        else:
            self.emit(ChatBotResolved, ContactData(contact_id=client.contact_id))

    def enqueue(self, client: Client, via_bot: bool) -> None:
        self.emit(
            ChatQueued,
            ChatQueuedData(
                contact_id=client.contact_id,
                queue_id=self.queue.id,
                unit_id=self.queue.unit,
                authenticated=client.authenticated,
                language=client.language,
                via_bot=via_bot,
            ),
        )
        visit = self.admit(client)
        for target, share in self.reroutes:
            if target.open and self.rng.random() < share:
                delay = self.duration_ms(REROUTE_MEDIAN_S, REROUTE_SIGMA, 3, 120)
                self.clock.after(delay, partial(self.reroute, visit, target))
                break

    def admit(self, client: Client) -> Visit:
        """The client starts waiting (entered or transferred in)."""
        visit = Visit(client)
        self.waiting.append(visit)
        self.clock.after(self.patience_ms(), partial(self.give_up, visit))
        self.assign()
        return visit

    def patience_ms(self) -> int:
        if self.rng.random() < SHORT_ABANDON_SHARE:
            return int(self.rng.uniform(2.0, 9.5) * 1000)
        return self.duration_ms(PATIENCE_MEDIAN_S, PATIENCE_SIGMA, 15, 4 * 3600)

    def give_up(self, visit: Visit) -> None:
        if visit.state in ("waiting", "picking"):
            picker = self.take_out(visit)
            self.abandon(visit, "client_left")
            self.free(picker)

    def reroute(self, visit: Visit, target: QueueDay) -> None:
        """The queue system moves a client who is not answered yet to `target`."""
        if visit.state in ("waiting", "picking") and target.open:
            picker = self.take_out(visit)
            self.transfer(visit.client, target)
            self.free(picker)

    def take_out(self, visit: Visit) -> Agent | None:
        """End an unanswered visit; the professional who was picking the chat up, if any."""
        if visit.state == "waiting":
            self.waiting.remove(visit)
        picker = visit.agent if visit.state == "picking" else None
        visit.state = "ended"
        return picker

    def free(self, picker: Agent | None) -> None:
        if picker is None:
            self.end_shifts_if_drained()
        else:
            self.release(picker)

    def abandon(self, visit: Visit, reason: Literal["client_left", "closed_hours"]) -> None:
        visit.state = "ended"
        self.emit(
            ChatAbandoned,
            ChatAbandonedData(
                contact_id=visit.client.contact_id, queue_id=self.queue.id, reason=reason
            ),
        )

    def transfer(self, client: Client, target: QueueDay) -> None:
        self.emit(
            ChatTransferred,
            ChatTransferredData(
                contact_id=client.contact_id,
                from_queue_id=self.queue.id,
                to_queue_id=target.queue.id,
            ),
        )
        target.admit(client)

    # -- professionals

    def assign(self) -> None:
        """Hand waiting clients in FIFO order to the least-loaded professionals with a slot."""
        while self.waiting:
            free = [a for a in self.agents if a.on_shift and a.active < a.capacity]
            if not free:
                break
            agent = min(free, key=lambda a: a.active)
            visit = self.waiting.popleft()
            visit.state, visit.agent = "picking", agent
            median = PICKUP_MEDIAN_S * (1 + PICKUP_LOAD_FACTOR * agent.active)
            agent.active += 1
            self.clock.after(
                self.duration_ms(median, PICKUP_SIGMA, 3, 600), partial(self.answer, visit)
            )
        self.end_shifts_if_drained()

    def answer(self, visit: Visit) -> None:
        if visit.state != "picking" or visit.agent is None:
            return  # the client left while the professional was opening the chat
        visit.state = "answered"
        self.emit(
            ChatAnswered,
            ChatAnsweredData(
                contact_id=visit.client.contact_id,
                queue_id=self.queue.id,
                agent_id=visit.agent.agent_id,
            ),
        )
        handle = self.duration_ms(self.profile.handle_median_s, HANDLE_SIGMA, 60, 2 * 3600)
        self.clock.after(handle, partial(self.end_conversation, visit, visit.agent))

    def end_conversation(self, visit: Visit, agent: Agent) -> None:
        """Close the chat, or, in triage, hand the client over to the next queue."""
        visit.state = "ended"
        target = self.triage
        if target is not None and target.open and self.rng.random() < self.triage_share:
            self.transfer(visit.client, target)
        else:
            self.emit(
                ChatClosed,
                ChatClosedData(contact_id=visit.client.contact_id, resolved=self.pick(RESOLVED)),
            )
        self.release(agent)

    def release(self, agent: Agent) -> None:
        agent.active -= 1
        if agent.on_shift:
            self.assign()
        elif agent.active == 0:
            self.announce(agent, "offline")

    def start_shift(self, agent: Agent) -> None:
        agent.on_shift = True
        self.announce(agent, "available")
        self.assign()

    def end_shift(self, agent: Agent) -> None:
        """No new chats; `busy` until the open ones are closed, then `offline`."""
        agent.on_shift = False
        self.announce(agent, "offline" if agent.active == 0 else "busy")

    def open_queue(self) -> None:
        self.open = True

    def close_queue(self) -> None:
        self.open = False
        if not self.carry_over:
            while self.waiting:
                self.abandon(self.waiting.popleft(), "closed_hours")
        self.end_shifts_if_drained()

    def end_shifts_if_drained(self) -> None:
        if not self.open and not self.waiting:
            for agent in self.agents:
                if agent.on_shift:
                    self.end_shift(agent)

    def announce(self, agent: Agent, status: Literal["available", "busy", "offline"]) -> None:
        self.emit(
            AgentStatus,
            AgentStatusData(
                agent_id=agent.agent_id,
                status=status,
                queue_ids=[self.queue.id],
                capacity=agent.capacity,
            ),
        )

    # -- randomness and output

    def duration_ms(self, median_s: float, sigma: float, low_s: float, high_s: float) -> int:
        seconds = self.rng.lognormvariate(math.log(median_s), sigma)
        return round(min(max(seconds, low_s), high_s) * 1000)

    def pick(self, choices: tuple[tuple[T, float], ...]) -> T:
        return self.rng.choices([v for v, _ in choices], [w for _, w in choices])[0]

    def emit(self, kind: type[Envelope], data: Data) -> None:
        event_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        self.events.append(
            (self.clock.now, envelope(kind, event_id, from_ms(self.clock.now, self.tz), data))
        )


def envelope(kind: type[Envelope], event_id: uuid.UUID, moment: datetime, data: Data) -> Envelope:
    return kind.model_validate(
        {
            "specversion": "1.0",
            "id": str(event_id),
            "source": SOURCE,
            "type": type_name(kind),
            "time": moment,
            "datacontenttype": "application/json",
            "data": data,
        }
    )


@cache
def type_name(kind: type[Envelope]) -> str:
    """The CloudEvents `type` of an envelope class: the value of its `type` literal."""
    name: str = get_args(kind.model_fields["type"].annotation)[0]
    return name
