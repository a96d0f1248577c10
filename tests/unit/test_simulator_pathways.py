"""The pathway model of the simulator: deterministic, valid, and calibrated on Kymenlaakso
(docs/calibration.md#pathways)."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.events import (
    PATHWAY,
    Envelope,
    PathwayCompleted,
    PathwayDiscontinued,
    PathwayFeedback,
    PathwayStarted,
    PathwayTaskCompleted,
)
from services.common.producer import encode
from services.common.registry import load_registry
from services.common.settings import PROJECT_ROOT
from services.simulator.chat import to_ms
from services.simulator.pathways import (
    LIFETIME,
    largest_remainder,
    simulate_pathways,
    yearly_starts,
)
from services.simulator.run import realtime_pathways

HELSINKI = ZoneInfo("Europe/Helsinki")
REGISTRY = load_registry(PROJECT_ROOT / "infra" / "registry" / "demo.yaml")
YEAR_START = datetime(2025, 1, 1, tzinfo=HELSINKI)
YEAR_END = datetime(2026, 1, 1, tzinfo=HELSINKI)
TAIL = timedelta(days=40)
"""Simulated past the year, to see how the enrolments of December go on."""
KINDS = {p.id: p.kind for p in REGISTRY.pathways}
AREAS = {p.id: p.service_area for p in REGISTRY.pathways}
UNIT_AREAS = {u.id: u.service_area for u in REGISTRY.units}
# Kymenlaakso's professional pathway starts January to October 2025, most to fewest
# (docs/calibration.md#pathways).
PROFESSIONAL_RANKING = [
    "reuma",  # 119
    "astma",  # 86
    "selkaoireet",  # 78
    "verenpaine",  # 32
    "diabetes-2",  # 27
    "keuhkoahtauma",  # 13
    "suu-leuka",  # 7
    "hematologia",  # 3
    "kardiologia",  # 1
]
ENDS = (PathwayCompleted, PathwayDiscontinued)
Event = (
    PathwayStarted | PathwayTaskCompleted | PathwayCompleted | PathwayDiscontinued | PathwayFeedback
)


def narrow(event: Envelope) -> Event:
    assert isinstance(event, Event)
    return event


def simulate(start: datetime, end: datetime, seed: int) -> list[Event]:
    return [narrow(e) for e in simulate_pathways(REGISTRY, start, end, seed, HELSINKI)]


@pytest.fixture(scope="module")
def year() -> list[Event]:
    """2025 and the first weeks of 2026, seed 7."""
    return simulate(YEAR_START, YEAR_END + TAIL, 7)


@pytest.fixture(scope="module")
def enrolments(year: list[Event]) -> dict[str, list[Event]]:
    """The events of each enrolment that started in 2025, in order."""
    started = {e.data.enrolment_id for e in year if isinstance(e, PathwayStarted)}
    by_enrolment: dict[str, list[Event]] = defaultdict(list)
    for event in year:
        if event.data.enrolment_id in started and event.time >= YEAR_START:
            by_enrolment[event.data.enrolment_id].append(event)
    starts = [e for e in year if isinstance(e, PathwayStarted) and e.time < YEAR_END]
    return {e.data.enrolment_id: by_enrolment[e.data.enrolment_id] for e in starts}


def start_of(events: list[Event]) -> PathwayStarted:
    first = events[0]
    assert isinstance(first, PathwayStarted)
    return first


def test_same_seed_same_events_and_another_seed_others() -> None:
    span = (datetime(2025, 3, 3, tzinfo=HELSINKI), datetime(2025, 3, 10, tzinfo=HELSINKI))
    first = [encode(e) for e in simulate_pathways(REGISTRY, *span, 1, HELSINKI)]
    again = [encode(e) for e in simulate_pathways(REGISTRY, *span, 1, HELSINKI)]
    other = [encode(e) for e in simulate_pathways(REGISTRY, *span, 2, HELSINKI)]
    assert len(first) == 558
    assert first == again
    assert not set(first) & set(other)


@settings(max_examples=5, deadline=None)
@given(st.integers(min_value=1, max_value=14 * 24 * 60 - 1))
def test_a_range_split_in_two_gives_the_same_events(minutes: int) -> None:
    start = datetime(2025, 12, 20, tzinfo=HELSINKI)  # across a new year
    end = start + timedelta(days=14)
    middle = start + timedelta(minutes=minutes)
    whole = list(simulate_pathways(REGISTRY, start, end, 3, HELSINKI))
    parts = list(simulate_pathways(REGISTRY, start, middle, 3, HELSINKI)) + list(
        simulate_pathways(REGISTRY, middle, end, 3, HELSINKI)
    )
    assert whole == parts


def test_events_parse_are_ordered_and_inside_the_range(year: list[Event]) -> None:
    end = YEAR_END + TAIL
    times = [event.time.astimezone(UTC) for event in year]
    assert times == sorted(times)
    assert times[0] >= YEAR_START
    assert times[-1] < end
    for event in year:
        parsed = PATHWAY.parse(encode(event), end, timedelta(hours=1))
        assert parsed == event.model_copy(update={"time": event.time.astimezone(UTC)})
        assert PATHWAY.key(parsed) == event.data.enrolment_id.encode()
    assert len({e.id for e in year}) == len(year) == 28_782
    assert {e.source for e in year} == {"simulator/oma-kymenlaakso", "simulator/kymenhva"}
    assert Counter(e.type for e in year) == {
        "pathway.started": 5302,
        "pathway.task_completed": 19_705,
        "pathway.completed": 1792,
        "pathway.discontinued": 960,
        "pathway.feedback": 1023,
    }


def test_a_calendar_year_has_the_countys_starts(enrolments: dict[str, list[Event]]) -> None:
    starts = Counter(start_of(events).data.pathway_id for events in enrolments.values())
    assert sum(starts.values()) == 4646
    assert starts == {
        "nikotiini": 1485,
        "nivelrikko": 1280,
        "uni": 502,
        "reuma": 339,
        "selkee-suunta": 336,
        "astma": 245,
        "selkaoireet": 222,
        "verenpaine": 91,
        "diabetes-2": 77,
        "keuhkoahtauma": 37,
        "suu-leuka": 20,
        "hematologia": 9,
        "kardiologia": 3,
    }
    assert starts == yearly_starts(REGISTRY)
    self_care = sum(n for pathway, n in starts.items() if KINDS[pathway] == "self_care")
    assert self_care == 3267
    assert 0.65 <= self_care / 4646 <= 0.75
    professional = [p for p, _ in starts.most_common() if KINDS[p] == "professional"]
    assert professional == PROFESSIONAL_RANKING


def test_largest_remainder_shares_whole_numbers_that_add_up() -> None:
    assert largest_remainder(10, [1, 1, 1]) == [4, 3, 3]
    assert largest_remainder(1043, [86, 119, 32, 13, 78, 27, 7, 1, 3]) == [
        245, 339, 91, 37, 222, 77, 20, 3, 9,
    ]  # fmt: skip
    assert largest_remainder(5, []) == []
    assert largest_remainder(5, [0, 0]) == [0, 0]


def test_every_enrolment_starts_once_ends_at_most_once_and_nothing_comes_before_its_start(
    enrolments: dict[str, list[Event]],
) -> None:
    for events in enrolments.values():
        start = start_of(events)
        assert sum(isinstance(e, PathwayStarted) for e in events) == 1
        ends = [e for e in events if isinstance(e, ENDS)]
        assert len(ends) <= 1
        assert all(e.time > start.time for e in events[1:])
        assert all(e.time - start.time < LIFETIME for e in events)
        tasks = [e for e in events if isinstance(e, PathwayTaskCompleted)]
        if ends:
            assert all(t.time < ends[0].time for t in tasks)
        assert sum(isinstance(e, PathwayFeedback) for e in events) <= 1
        assert len({t.data.task for t in tasks}) == len(tasks)


def test_start_modes_units_and_authentication(enrolments: dict[str, list[Event]]) -> None:
    starts = [start_of(events) for events in enrolments.values()]
    modes: dict[str, Counter[str | None]] = defaultdict(Counter)
    for start in starts:
        data = start.data
        modes[KINDS[data.pathway_id]][data.start_mode] += 1
        assert data.pathway_kind == KINDS[data.pathway_id]
        assert data.service_area == AREAS[data.pathway_id]
        assert data.unit_id is not None
        assert UNIT_AREAS[data.unit_id] == data.service_area
        assert data.platform == (
            "kymenhva" if data.pathway_kind != "professional" else "oma-kymenlaakso"
        )
        local = start.time.astimezone(HELSINKI)
        if data.start_mode == "professional":
            assert local.weekday() < 5
            assert 7 <= local.hour < 17
    professional = modes["professional"]
    assert (professional["professional"] + professional["booking"]) / professional.total() > 0.8
    assert modes["self_care"]["self"] / modes["self_care"].total() > 0.8
    assert set(modes["hybrid"]) == {"self", "professional", "booking"}
    authenticated = sum(bool(s.data.authenticated) for s in starts) / len(starts)
    assert 0.85 < authenticated < 0.98
    weekdays = Counter(s.time.astimezone(HELSINKI).weekday() for s in starts)
    assert weekdays[0] == max(weekdays.values())
    assert weekdays[5] == min(weekdays.values())
    assert weekdays[5] > 0
    months = Counter(s.time.astimezone(HELSINKI).month for s in starts)
    assert months[7] == min(months.values())  # the summer holidays


def test_selkee_suunta_is_mostly_still_active_after_a_month(
    enrolments: dict[str, list[Event]],
) -> None:
    hybrid = [e for e in enrolments.values() if start_of(e).data.pathway_id == "selkee-suunta"]
    active = [
        events
        for events in hybrid
        if not any(
            isinstance(e, ENDS) and e.time < start_of(events).time + timedelta(days=30)
            for e in events
        )
    ]
    assert len(hybrid) == 336
    assert len(active) == 248
    assert 0.6 <= len(active) / len(hybrid) <= 0.9  # docs/calibration.md#pathways: 21 of 28


def test_courses_last_weeks_to_months(enrolments: dict[str, list[Event]]) -> None:
    days: dict[str, list[float]] = defaultdict(list)
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    for events in enrolments.values():
        start = start_of(events)
        ends = [e for e in events if isinstance(e, ENDS)]
        pathway = start.data.pathway_id
        outcomes[pathway][ends[0].type if ends else "open"] += 1
        if ends and isinstance(ends[0], PathwayCompleted):
            days[pathway].append((ends[0].time - start.time) / timedelta(days=1))
    median = {pathway: statistics.median(d) for pathway, d in days.items()}
    assert 14 <= median["verenpaine"] < median["astma"] < median["reuma"] <= 70
    assert 35 <= median["uni"] <= 63  # six weekly parts
    assert 63 <= median["nikotiini"] <= 120  # about three months
    assert median["selkee-suunta"] >= 60
    assert outcomes["nivelrikko"]["pathway.completed"] == 0  # 546 ongoing, none completed
    assert outcomes["uni"]["pathway.completed"] > outcomes["uni"]["open"]  # 122 to 92
    assert outcomes["nikotiini"]["open"] > 2 * outcomes["nikotiini"]["pathway.completed"]
    for pathway in PROFESSIONAL_RANKING[:6]:
        counts = outcomes[pathway]
        completion_rate = counts["pathway.completed"] / (
            counts["pathway.completed"] + counts["pathway.discontinued"]
        )
        assert completion_rate > 0.7


def test_thumbs_are_mostly_up(year: list[Event]) -> None:
    thumbs = Counter(e.data.thumb for e in year if isinstance(e, PathwayFeedback))
    assert 0.7 < thumbs["up"] / thumbs.total() < 0.9
    reasons = Counter(e.data.reason for e in year if isinstance(e, PathwayDiscontinued))
    assert set(reasons) == {"inactive", "client_request", "ended_by_professional", "no_response"}


def test_a_range_shows_the_later_events_of_enrolments_started_before_it() -> None:
    start, end = datetime(2025, 3, 3, tzinfo=HELSINKI), datetime(2025, 3, 10, tzinfo=HELSINKI)
    week = simulate(start, end, 1)
    longer = simulate(start - LIFETIME, end, 1)
    assert week == [e for e in longer if e.time >= start]
    started_in_week = {e.data.enrolment_id for e in week if isinstance(e, PathwayStarted)}
    earlier = {e.data.enrolment_id for e in week} - started_in_week
    assert len(earlier) == 317
    started_before = {e.data.enrolment_id: e.time for e in longer if isinstance(e, PathwayStarted)}
    assert all(started_before[enrolment] < start for enrolment in earlier)


T0 = datetime(2025, 3, 4, 14, 0, tzinfo=HELSINKI)
DAY_MS = 86_400_000


def real_time(speed: float, continuing: bool, days: int = 3) -> list[tuple[int, Event]]:
    """The first simulated days of a real-time run of seed 1 starting at T0."""
    events = realtime_pathways(REGISTRY, HELSINKI, 1, speed, T0, continuing)
    first = itertools.takewhile(lambda item: item[0] < days * DAY_MS, events)
    return [(offset, narrow(event)) for offset, event in first]


def test_real_time_at_speed_one_continues_the_backfilled_world() -> None:
    sent = real_time(1.0, continuing=True)
    world = simulate(T0, T0 + timedelta(days=3), 1)
    assert [e for _, e in sent] == world
    assert [offset for offset, _ in sent] == [to_ms(e.time) - to_ms(T0) for _, e in sent]


def test_real_time_alone_sends_only_enrolments_started_from_t0() -> None:
    sent = [e for _, e in real_time(1.0, continuing=False)]
    world = simulate(T0, T0 + timedelta(days=3), 1)
    started = {e.data.enrolment_id for e in world if isinstance(e, PathwayStarted)}
    assert sent == [e for e in world if e.data.enrolment_id in started]
    assert len(sent) < len(world)


def test_real_time_at_another_speed_has_a_world_of_its_own() -> None:
    sent = [e for _, e in real_time(60.0, continuing=True, days=20)]
    assert len(sent) > 400
    seen: set[str] = set()
    for event in sent:
        if isinstance(event, PathwayStarted):
            seen.add(event.data.enrolment_id)
        assert event.data.enrolment_id in seen
    world = simulate(T0 - LIFETIME, T0 + timedelta(days=20), 1)
    assert not {e.id for e in sent} & {e.id for e in world}
    assert not seen & {e.data.enrolment_id for e in world}


def test_without_pathways_nothing_is_simulated() -> None:
    empty = REGISTRY.model_copy(update={"pathways": []})
    assert list(realtime_pathways(empty, HELSINKI, 1, 1.0, T0, False)) == []
    assert list(simulate_pathways(empty, YEAR_START, YEAR_END, 1, HELSINKI)) == []
