"""The chat model of the simulator: deterministic, valid, consistent and realistic."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from services.chat_metrics.service import to_fact
from services.chat_metrics.stories import derive
from services.common.events import (
    CHAT,
    AgentStatus,
    ChatAbandoned,
    ChatAnswered,
    ChatClosed,
    ChatEvent,
    ChatQueued,
    ChatStarted,
    ChatTransferred,
)
from services.common.registry import Registry, load_registry
from services.common.settings import PROJECT_ROOT
from services.simulator import chat
from services.simulator.chat import (
    SHORT_BY,
    SHORT_HOURS,
    SOURCE,
    short_staffed,
    simulate_chat,
    simulate_days,
    to_ms,
)
from services.simulator.run import handover, realtime_events

HELSINKI = ZoneInfo("Europe/Helsinki")
REGISTRY = load_registry(PROJECT_ROOT / "infra" / "registry" / "demo.yaml")
MONDAY = datetime(2025, 11, 3, tzinfo=HELSINKI)
TWO_WEEKS = (MONDAY, MONDAY + timedelta(days=14))

# The type sequences a contact can go through, by how it entered.
LIFECYCLES = {
    ("chat.started", "chat.bot_resolved"),
    ("chat.started", "chat.queued", "chat.answered", "chat.closed"),
    ("chat.started", "chat.queued", "chat.abandoned"),
    # The nurse's triage hands the client over to the doctor chat.
    (
        "chat.started",
        "chat.queued",
        "chat.answered",
        "chat.transferred",
        "chat.answered",
        "chat.closed",
    ),
    ("chat.started", "chat.queued", "chat.answered", "chat.transferred", "chat.abandoned"),
    # The queue system re-routes a waiting client.
    ("chat.started", "chat.queued", "chat.transferred", "chat.answered", "chat.closed"),
    ("chat.started", "chat.queued", "chat.transferred", "chat.abandoned"),
}
HEALTH_STATION, DOCTOR, REHAB = "terveysasema-chat", "laakari-chat", "kuntoutus-chat"


def simulate(start: datetime, end: datetime, seed: int) -> list[ChatEvent]:
    return cast("list[ChatEvent]", list(simulate_chat(REGISTRY, start, end, seed, HELSINKI)))


@pytest.fixture(scope="module")
def two_weeks() -> list[ChatEvent]:
    return simulate(*TWO_WEEKS, seed=1)


def contact_of(event: ChatEvent) -> str | None:
    contact: str | None = getattr(getattr(event, "data", None), "contact_id", None)
    return contact


def by_contact(events: list[ChatEvent]) -> dict[str, list[ChatEvent]]:
    contacts: dict[str, list[ChatEvent]] = defaultdict(list)
    for event in events:
        if (contact := contact_of(event)) is not None:
            contacts[contact].append(event)
    return contacts


def entries(events: list[ChatEvent]) -> list[tuple[str, str, datetime]]:
    """(contact, queue, time) of every entry into a queue: queued or transferred in."""
    found = []
    for event in events:
        if isinstance(event, ChatQueued):
            found.append((event.data.contact_id, event.data.queue_id, event.time))
        elif isinstance(event, ChatTransferred):
            found.append((event.data.contact_id, event.data.to_queue_id, event.time))
    return found


def waits(events: list[ChatEvent], outcome: type[ChatAnswered | ChatAbandoned]) -> list[float]:
    """Seconds from entering a queue to the visit's end, for visits that ended with `outcome`."""
    entered = {(contact, queue): at for contact, queue, at in entries(events)}
    return [
        (e.time - entered[e.data.contact_id, e.data.queue_id]).total_seconds()
        for e in events
        if isinstance(e, outcome)
    ]


def transfers(events: list[ChatEvent], to_queue: str) -> list[ChatTransferred]:
    return [e for e in events if isinstance(e, ChatTransferred) and e.data.to_queue_id == to_queue]


def test_the_same_seed_gives_the_same_events_ids_included() -> None:
    first = [e.model_dump_json() for e in simulate(*TWO_WEEKS, seed=5)]
    again = [e.model_dump_json() for e in simulate(*TWO_WEEKS, seed=5)]
    assert first == again
    assert len(first) > 5000


def test_another_seed_gives_other_events(two_weeks: list[ChatEvent]) -> None:
    other = simulate(*TWO_WEEKS, seed=2)
    assert {e.id for e in other}.isdisjoint(e.id for e in two_weeks)
    assert {contact_of(e) for e in other} & {contact_of(e) for e in two_weeks} == {None}
    assert [e.type for e in other] != [e.type for e in two_weeks]


def test_a_day_is_the_same_whatever_range_it_is_simulated_in(two_weeks: list[ChatEvent]) -> None:
    tuesday = (MONDAY + timedelta(days=1), MONDAY + timedelta(days=2))
    alone = simulate(*tuesday, seed=1)
    assert alone == [e for e in two_weeks if tuesday[0] <= e.time < tuesday[1]]
    assert len(alone) > 500


def test_every_event_is_a_valid_chat_event_in_local_time(two_weeks: list[ChatEvent]) -> None:
    now = datetime.now(UTC)
    for event in two_weeks:
        raw = event.model_dump_json(exclude_none=True)
        assert CHAT.parse(raw, now, timedelta(hours=1)) == event
        assert event.source == SOURCE
        assert event.time.tzinfo is HELSINKI
        assert f'"time":"{event.time.isoformat()}"' in raw
    assert '"time":"2025-11-03T07:00:00+02:00"' in two_weeks[0].model_dump_json()
    assert len({e.id for e in two_weeks}) == len(two_weeks)


def test_events_come_in_time_order_inside_the_range(two_weeks: list[ChatEvent]) -> None:
    times = [e.time for e in two_weeks]
    assert times == sorted(times)
    assert times[0] >= TWO_WEEKS[0]
    assert times[-1] < TWO_WEEKS[1]


def test_nobody_enters_a_closed_queue(two_weeks: list[ChatEvent]) -> None:
    entered = entries(two_weeks)
    queues = {q.id: q for q in REGISTRY.queues}
    closed = [e for e in entered if not queues[e[1]].is_open(e[2].astimezone(HELSINKI))]
    assert closed == []
    assert {queue for _, queue, _ in entered} == set(queues)


def test_with_the_planned_staff_nobody_is_left_waiting_at_closing(
    two_weeks: list[ChatEvent],
) -> None:
    assert closed_hours_abandons(two_weeks, REGISTRY) == 0


def test_in_an_unstaffed_queue_clients_leave_or_are_abandoned_at_closing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chat, "staff_needed", lambda profile, per_hour: 0)
    monkeypatch.setattr(chat, "PATIENCE_MEDIAN_S", 3 * 3600.0)
    events = simulate(MONDAY, MONDAY + timedelta(days=1), seed=1)
    assert not any(isinstance(e, AgentStatus | ChatAnswered | ChatClosed) for e in events)
    late = [e for e in events if isinstance(e, ChatAbandoned) and e.data.reason == "closed_hours"]
    assert closed_hours_abandons(events, REGISTRY) == len(late)
    assert len(late) > 10
    closing = {
        q.id: MONDAY.replace(hour=q.opening_hours.days["mon"][1].hour)
        for q in REGISTRY.queues
        if q.opening_hours is not None
    }
    assert all(e.time == closing[e.data.queue_id] for e in late)
    abandoned = sum(isinstance(e, ChatAbandoned) for e in events)
    assert abandoned == sum(isinstance(e, ChatQueued) for e in events)


def closed_hours_abandons(events: list[ChatEvent], registry: Registry) -> int:
    """Check every `closed_hours` abandon happens as its queue closes; how many there are."""
    count = 0
    for event in events:
        if isinstance(event, ChatAbandoned) and event.data.reason == "closed_hours":
            queue = registry.queue(event.data.queue_id)
            assert queue is not None
            local = event.time.astimezone(HELSINKI)
            assert not queue.is_open(local)
            assert queue.is_open(local - timedelta(milliseconds=1))
            count += 1
    return count


def test_every_contact_goes_through_one_whole_lifecycle(two_weeks: list[ChatEvent]) -> None:
    contacts = by_contact(two_weeks)
    for contact, events in contacts.items():
        kinds = tuple(e.type for e in events)
        assert kinds in LIFECYCLES, (contact, kinds)
        started = events[0]
        assert isinstance(started, ChatStarted)
        if len(events) > 2:
            queued = events[1]
            assert isinstance(queued, ChatQueued)
            assert queued.data.via_bot == (started.data.entry == "bot")
            assert_stays_in_its_queue(events)
        else:
            assert started.data.entry == "bot"
    assert len(contacts) > 1800


def assert_stays_in_its_queue(events: list[ChatEvent]) -> None:
    """Every event after the entry is about the queue the contact is in, and a transfer goes
    from the health station: answered ones to the doctor, waiting ones to rehabilitation."""
    queue, answered = "", False
    for event in events:
        if isinstance(event, ChatQueued):
            queue = event.data.queue_id
        elif isinstance(event, ChatTransferred):
            assert event.data.from_queue_id == queue == HEALTH_STATION
            assert event.data.to_queue_id == (DOCTOR if answered else REHAB)
            queue, answered = event.data.to_queue_id, False
        elif isinstance(event, ChatAnswered | ChatAbandoned):
            assert event.data.queue_id == queue
            answered = isinstance(event, ChatAnswered)


def test_queued_events_carry_unit_authentication_and_language(
    two_weeks: list[ChatEvent],
) -> None:
    queued = [e for e in two_weeks if isinstance(e, ChatQueued)]
    units = {q.id: q.unit for q in REGISTRY.queues}
    assert all(e.data.unit_id == units[e.data.queue_id] for e in queued)
    assert all(e.data.authenticated for e in queued if e.data.queue_id == "terveysasema-chat")
    anonymous = [
        e for e in queued if e.data.queue_id == "kuntoutus-chat" and not e.data.authenticated
    ]
    assert 0 < len(anonymous) < len([e for e in queued if e.data.queue_id == "kuntoutus-chat"])
    languages = Counter(e.data.language for e in queued)
    assert set(languages) == {"fi", "sv", "en"}
    assert 0.88 < languages["fi"] / len(queued) < 0.97


def test_no_professional_has_more_chats_than_announced_capacity(
    two_weeks: list[ChatEvent],
) -> None:
    busiest = busiest_professional(two_weeks)
    assert busiest[HEALTH_STATION] == 3
    # Both ends of the triage fill up at times; the nurse's slot frees at the handover.
    assert busiest[DOCTOR] >= 2


def busiest_professional(events: list[ChatEvent], all_offline_at_end: bool = True) -> Counter[str]:
    """Check presence against the chats each professional has (a conversation holds a slot
    until it is closed or transferred); by queue, the most chats anyone had at once."""
    capacity: dict[str, int] = {}
    status: dict[str, str] = {}
    active: Counter[str] = Counter()
    agent_of: dict[str, str] = {}
    busiest: Counter[str] = Counter()
    for event in events:
        if isinstance(event, AgentStatus):
            agent = event.data.agent_id
            assert event.data.capacity in (2, 3)
            assert len(event.data.queue_ids) == 1
            assert agent.startswith(f"a-{event.data.queue_ids[0]}-")
            if event.data.status == "offline":
                assert active[agent] == 0
            capacity[agent], status[agent] = event.data.capacity, event.data.status
        elif isinstance(event, ChatAnswered):
            agent = event.data.agent_id or ""
            assert agent.startswith(f"a-{event.data.queue_id}-")
            assert status[agent] in ("available", "busy")
            assert event.data.contact_id not in agent_of
            agent_of[event.data.contact_id] = agent
            active[agent] += 1
            assert active[agent] <= capacity[agent]
            queue = event.data.queue_id
            busiest[queue] = max(busiest[queue], active[agent])
        elif isinstance(event, ChatClosed | ChatTransferred) and event.data.contact_id in agent_of:
            # A transfer of an answered conversation frees the professional's slot.
            active[agent_of.pop(event.data.contact_id)] -= 1
    if all_offline_at_end:
        assert set(status.values()) == {"offline"}
    return busiest


def test_health_station_staffing_follows_the_load(two_weeks: list[ChatEvent]) -> None:
    """≈ 4 nurses, more at the morning peak (docs/calibration.md#chat: staffing); on a
    short-staffed day 2 fewer from 9 to 12."""
    on_duty: dict[str, str] = {}
    at_hour: dict[int, list[int]] = defaultdict(list)
    short: dict[int, list[int]] = defaultdict(list)
    sampled: set[datetime] = set()
    for event in two_weeks:
        local = event.time.astimezone(HELSINKI)
        sample = local.replace(minute=30, second=0, microsecond=0)
        if local >= sample and sample not in sampled and 7 <= sample.hour < 20:
            sampled.add(sample)
            available = sum(s == "available" for s in on_duty.values())
            if short_staffed("terveysasema-chat", sample.date()) and sample.hour in SHORT_HOURS:
                short[sample.hour].append(available)
            else:
                at_hour[sample.hour].append(available)
        if isinstance(event, AgentStatus) and "terveysasema" in event.data.agent_id:
            on_duty[event.data.agent_id] = event.data.status
    assert min(min(n) for n in at_hour.values()) >= 3
    assert short, "two weeks hold a short-staffed weekday"
    for hour, counts in short.items():
        assert max(counts) <= max(at_hour[hour]) - SHORT_BY
    assert 4.0 <= statistics.mean(at_hour[8]) <= 6.0
    assert 3.0 <= statistics.mean(at_hour[18]) <= 3.5
    assert 3.4 <= statistics.mean(n for ns in at_hour.values() for n in ns) <= 4.5


def test_health_station_volume_per_weekday_and_none_at_weekends(
    two_weeks: list[ChatEvent],
) -> None:
    per_day: Counter[int] = Counter()
    for event in two_weeks:
        if isinstance(event, ChatQueued):
            local = event.time.astimezone(HELSINKI)
            assert local.weekday() < 5
            if event.data.queue_id == "terveysasema-chat":
                per_day[local.toordinal()] += 1
    assert len(per_day) == 10
    assert all(90 <= n <= 200 for n in per_day.values())
    assert 120 <= statistics.mean(per_day.values()) <= 150
    mondays = [per_day[(MONDAY + timedelta(days=d)).toordinal()] for d in (0, 7)]
    fridays = [per_day[(MONDAY + timedelta(days=d)).toordinal()] for d in (4, 11)]
    assert sum(mondays) > sum(fridays)


def test_small_queues_have_a_few_chats_a_day(two_weeks: list[ChatEvent]) -> None:
    entered = Counter(queue for _, queue, _ in entries(two_weeks))
    per_weekday = {queue: n / 10 for queue, n in entered.items()}
    assert 2.0 <= per_weekday["kuntoutus-chat"] <= 4.0  # 563 in Jan-Oct
    assert 2.0 <= per_weekday["sosiaalineuvonta-chat"] <= 6.0
    assert 3.5 <= per_weekday["laakari-chat"] <= 6.5  # 104 in its first month
    assert 5.0 <= per_weekday["pitkaaikaissairaudet-chat"] <= 9.0  # 102 in 14 days


def test_the_doctor_chat_is_reached_through_the_nurses_triage(
    two_weeks: list[ChatEvent],
) -> None:
    """≈ 104 consultations in the first month (docs/calibration.md#chat), handed over by nurses."""
    to_doctor = [at for _, queue, at in entries(two_weeks) if queue == DOCTOR]
    assert all(at.astimezone(HELSINKI).weekday() < 5 for at in to_doctor)
    assert 3 <= len(to_doctor) / 10 <= 8
    triaged = transfers(two_weeks, DOCTOR)
    assert all(e.data.from_queue_id == HEALTH_STATION for e in triaged)
    assert len(triaged) >= 0.9 * len(to_doctor)
    answered = sum(
        isinstance(e, ChatAnswered) and e.data.queue_id == HEALTH_STATION for e in two_weeks
    )
    assert 0.02 <= len(triaged) / answered <= 0.08


def test_a_few_waiting_clients_are_rerouted_to_rehabilitation(two_weeks: list[ChatEvent]) -> None:
    rerouted = transfers(two_weeks, REHAB)
    health_station = [at for _, queue, at in entries(two_weeks) if queue == HEALTH_STATION]
    assert 0 < len(rerouted) < 0.03 * len(health_station)
    assert all(e.data.from_queue_id == HEALTH_STATION for e in rerouted)
    # Moved shortly after entering, before any answer (see assert_stays_in_its_queue).
    assert waits_before_transfer(two_weeks, rerouted) <= 120


def waits_before_transfer(events: list[ChatEvent], moved: list[ChatTransferred]) -> float:
    entered = {(contact, queue): at for contact, queue, at in entries(events)}
    return max(
        (e.time - entered[e.data.contact_id, e.data.from_queue_id]).total_seconds() for e in moved
    )


def test_a_transferred_contact_is_answered_or_waiting_before_and_closed_once_at_the_end(
    two_weeks: list[ChatEvent],
) -> None:
    kinds: Counter[tuple[str, str]] = Counter()
    for events in by_contact(two_weeks).values():
        moved = [e for e in events if isinstance(e, ChatTransferred)]
        if not moved:
            continue
        (transfer,) = moved
        before = events[: events.index(transfer)]
        after = events[events.index(transfer) + 1 :]
        assert [e.type for e in before[:2]] == ["chat.started", "chat.queued"]
        queues = {getattr(e.data, "queue_id", None) for e in before[1:]}
        assert queues == {transfer.data.from_queue_id}
        assert [e.type for e in before[2:]] in ([], ["chat.answered"])
        assert [e.type for e in after] in (["chat.answered", "chat.closed"], ["chat.abandoned"])
        assert getattr(after[0].data, "queue_id", None) == transfer.data.to_queue_id
        closes = [e for e in events if isinstance(e, ChatClosed)]
        assert closes == ([events[-1]] if after[0].type == "chat.answered" else [])
        kinds[before[-1].type, after[0].type] += 1
    # Handed over by the nurse or re-routed while waiting; then answered or abandoned.
    assert set(kinds) >= {
        ("chat.answered", "chat.answered"),
        ("chat.answered", "chat.abandoned"),
        ("chat.queued", "chat.answered"),
    }


def test_the_consumer_sees_every_visit_of_a_week_end(two_weeks: list[ChatEvent]) -> None:
    week = [e for e in two_weeks if e.time < MONDAY + timedelta(days=7)]
    visits = [
        visit
        for contact, events in by_contact(week).items()
        for visit in derive(contact, [to_fact(e) for e in events], lambda q: (60, 10)).visits
    ]
    assert Counter(v.queue_id for v in visits) == Counter(q for _, q, _ in entries(week))
    assert all(v.outcome != "waiting" and not v.in_conversation for v in visits)
    assert all(v.entered_by in ("queued", "transfer") for v in visits)
    outcomes = Counter(v.outcome for v in visits)
    assert outcomes["transferred"] == len(transfers(week, REHAB)) > 0
    handed_over = [v for v in visits if v.closed_by == "transfer"]
    assert len(handed_over) == len(transfers(week, DOCTOR)) > 0
    assert all(v.queue_id == HEALTH_STATION and v.outcome == "answered" for v in handed_over)


def test_a_handover_ends_a_transferred_client_in_the_queue_it_waits_in() -> None:
    world = simulate_days(REGISTRY, MONDAY.date(), seed=1, tz=HELSINKI)
    day = list(itertools.takewhile(lambda item: item[0] < to_ms(MONDAY + timedelta(days=1)), world))
    events = [cast("ChatEvent", e) for _, e in day]
    # Just after a transfer whose client is still waiting then.
    transfer = next(
        e
        for e in events
        if isinstance(e, ChatTransferred)
        and next(n for n in by_contact(events)[e.data.contact_id] if n.time > e.time).time
        > e.time + timedelta(seconds=1)
    )
    t0 = transfer.time + timedelta(seconds=1)
    ends = [cast("ChatEvent", e) for _, e in handover(iter(day), t0)]
    (abandoned,) = [e for e in ends if contact_of(e) == transfer.data.contact_id]
    assert isinstance(abandoned, ChatAbandoned)
    assert abandoned.data.queue_id == transfer.data.to_queue_id
    before = [e for e in events if e.time < t0] + ends
    for contact, lifecycle in by_contact(before).items():
        story = derive(contact, [to_fact(e) for e in lifecycle], lambda q: (60, 10))
        assert all(v.outcome != "waiting" and not v.in_conversation for v in story.visits)


def test_health_station_arrivals_peak_in_the_morning(two_weeks: list[ChatEvent]) -> None:
    hours = Counter(
        e.time.astimezone(HELSINKI).hour
        for e in two_weeks
        if isinstance(e, ChatQueued) and e.data.queue_id == "terveysasema-chat"
    )
    assert min(hours) == 7
    assert max(hours) == 19
    assert max(hours, key=lambda h: hours[h]) in (7, 8, 9)
    assert hours[8] + hours[9] > 2 * (hours[16] + hours[17])
    assert hours[8] > 3 * hours[19]


def test_waits_are_about_a_minute(two_weeks: list[ChatEvent]) -> None:
    week = [e for e in two_weeks if e.time < MONDAY + timedelta(days=7)]
    answered = waits(week, ChatAnswered)
    assert 30 <= statistics.mean(answered) <= 90
    assert min(answered) >= 3
    assert 0.6 <= sum(w <= 60 for w in answered) / len(answered) <= 0.9


def test_some_abandon_few_within_ten_seconds(two_weeks: list[ChatEvent]) -> None:
    abandoned = waits(two_weeks, ChatAbandoned)
    answered = waits(two_weeks, ChatAnswered)
    share = len(abandoned) / (len(abandoned) + len(answered))
    assert 0.02 <= share <= 0.12
    short = [w for w in abandoned if w < 10]
    assert 0.01 <= len(short) / (len(abandoned) + len(answered)) <= 0.05
    reasons = Counter(e.data.reason for e in two_weeks if isinstance(e, ChatAbandoned))
    assert set(reasons) <= {"client_left", "closed_hours"}
    assert reasons["client_left"] > 0


def test_conversations_last_minutes_and_two_thirds_are_resolved(
    two_weeks: list[ChatEvent],
) -> None:
    answered = {e.data.contact_id: e.time for e in two_weeks if isinstance(e, ChatAnswered)}
    closed = [e for e in two_weeks if isinstance(e, ChatClosed)]
    minutes = [(e.time - answered[e.data.contact_id]).total_seconds() / 60 for e in closed]
    assert 10 <= statistics.median(minutes) <= 15
    assert min(minutes) >= 1
    assert max(minutes) <= 120
    resolved = Counter(e.data.resolved for e in closed)
    assert 0.64 <= resolved[True] / len(closed) <= 0.72
    assert 0.23 <= resolved[False] / len(closed) <= 0.31
    assert 0.02 <= resolved[None] / len(closed) <= 0.08


def test_a_share_of_chats_starts_with_the_bot(two_weeks: list[ChatEvent]) -> None:
    starts = Counter(e.data.entry for e in two_weeks if isinstance(e, ChatStarted))
    bot_share = starts["bot"] / (starts["bot"] + starts["queue"])
    assert 0.25 <= bot_share <= 0.35
    resolved = sum(e.type == "chat.bot_resolved" for e in two_weeks)
    handed_over = sum(isinstance(e, ChatQueued) and e.data.via_bot for e in two_weeks)
    assert resolved + handed_over == starts["bot"]
    assert 0.58 <= resolved / starts["bot"] <= 0.72


def test_a_queue_open_around_the_clock_serves_its_clients_across_midnight() -> None:
    registry = Registry.model_validate(
        {
            "service_areas": [{"id": "sa", "name": "Area"}],
            "units": [{"id": "unit", "name": "Unit", "service_area": "sa"}],
            "queues": [
                {"id": "terveysasema-chat", "name": "Around the clock", "unit": "unit"},
                {
                    "id": "ilta-chat",
                    "name": "Evenings",
                    "unit": "unit",
                    "opening_hours": {"daily": "16:00-24:00"},
                },
            ],
        }
    )
    # Whole days from the first one on: no lifecycle is cut at the start.
    days = simulate_days(registry, MONDAY.date(), seed=9, tz=HELSINKI)
    events = [
        cast("ChatEvent", e)
        for _, e in itertools.takewhile(
            lambda item: item[1].time < MONDAY + timedelta(days=4), days
        )
    ]
    closed_hours = Counter(
        e.data.queue_id
        for e in events
        if isinstance(e, ChatAbandoned) and e.data.reason == "closed_hours"
    )
    assert closed_hours["terveysasema-chat"] == 0
    assert closed_hours_abandons(events, registry) == closed_hours["ilta-chat"]
    night = [
        e
        for e in events
        if isinstance(e, ChatQueued)
        and e.data.queue_id == "terveysasema-chat"
        and e.time.astimezone(HELSINKI).hour < 6
    ]
    assert len(night) > 10
    for contact, lifecycle in by_contact(events).items():
        if lifecycle[0].time < MONDAY + timedelta(days=3):
            assert tuple(e.type for e in lifecycle) in LIFECYCLES, contact
    ended = [e for e in events if e.time < MONDAY + timedelta(days=3, hours=6)]
    assert max(busiest_professional(ended, all_offline_at_end=False).values()) == 3


T0 = MONDAY.replace(hour=10, minute=30)


def real_time(speed: float, continuing: bool, hours: int = 24) -> list[tuple[int, ChatEvent]]:
    """The first hours (simulated) of a real-time run starting at T0."""
    events = realtime_events(REGISTRY, HELSINKI, 1, speed, T0, continuing)
    window = itertools.takewhile(lambda item: item[0] < hours * 3_600_000, events)
    return [(offset, cast("ChatEvent", event)) for offset, event in window]


def test_real_time_at_speed_one_continues_the_backfilled_world() -> None:
    sent = real_time(1.0, continuing=True)
    presence = [e for offset, e in sent if offset == 0 and isinstance(e, AgentStatus)]
    available = Counter(e.data.queue_ids[0] for e in presence if e.data.status == "available")
    assert {e.data.status for e in presence} <= {"available", "busy"}
    assert available["terveysasema-chat"] == 4
    assert available["kuntoutus-chat"] == 1
    rest = sent[len(presence) :]
    assert [e for _, e in rest] == simulate(T0, T0 + timedelta(days=1), seed=1)
    assert [offset for offset, _ in rest] == [to_ms(e.time) - to_ms(T0) for _, e in rest]
    backfilled = simulate(MONDAY, T0, seed=1)
    contacts = by_contact(backfilled + [e for _, e in rest])
    for contact, lifecycle in contacts.items():
        if lifecycle[0].time < T0.replace(hour=22):
            assert tuple(e.type for e in lifecycle) in LIFECYCLES, contact
    assert set(by_contact(backfilled)) & set(by_contact([e for _, e in rest]))


def test_real_time_at_another_speed_sends_only_whole_lifecycles() -> None:
    sent = [e for _, e in real_time(60.0, continuing=False)]
    contacts = by_contact(sent)
    assert all(lifecycle[0].type == "chat.started" for lifecycle in contacts.values())
    for contact, lifecycle in contacts.items():
        if lifecycle[0].time < T0.replace(hour=22):  # all ended by the next morning
            assert tuple(e.type for e in lifecycle) in LIFECYCLES, contact
    assert len(contacts) > 100
    assert not {e.id for e in sent} & {e.id for e in simulate(T0, T0 + timedelta(days=1), 1)}


def test_real_time_at_another_speed_ends_what_the_backfill_left_open() -> None:
    backfilled = simulate(MONDAY, T0, seed=1)
    sent = real_time(60.0, continuing=True)
    ends = [e for offset, e in sent if offset == 0 and e.type != "agent.status"]
    assert len(ends) > 3
    assert all(e.time == T0 for e in ends)
    assert {e.type for e in ends} <= {"chat.bot_resolved", "chat.abandoned", "chat.closed"}
    contacts = by_contact(backfilled + [e for _, e in sent])
    for contact, lifecycle in contacts.items():
        if lifecycle[0].time < T0.replace(hour=22):
            assert tuple(e.type for e in lifecycle) in LIFECYCLES, contact
    presence: dict[str, str] = {}
    for event in backfilled + [e for offset, e in sent if offset == 0]:
        if isinstance(event, AgentStatus):
            presence[event.data.agent_id] = event.data.status
    on_duty = Counter(a.rsplit("-", 1)[0] for a, s in presence.items() if s == "available")
    assert on_duty["a-terveysasema-chat"] == 4
