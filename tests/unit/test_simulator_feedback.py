"""The feedback model of the simulator: deterministic, valid, and calibrated on the reported
figures (docs/calibration.md#feedback)."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.events import (
    FEEDBACK,
    Envelope,
    SmsReceived,
    SurveyAnswered,
    SurveyDeliveryFailed,
    SurveySent,
)
from services.common.nps import DROP_Z, Responses, category, drop_zscore
from services.common.producer import encode
from services.common.registry import load_registry
from services.common.settings import PROJECT_ROOT
from services.feedback_ingest.replies import read_reply
from services.simulator import feedback
from services.simulator.chat import to_ms
from services.simulator.feedback import (
    DAY_NPS_SD,
    SOURCE,
    UNIT_PROFILES,
    Drop,
    Intent,
    day_effect,
    simulate_feedback,
    simulate_feedback_scored,
)
from services.simulator.run import realtime_feedback

HELSINKI = ZoneInfo("Europe/Helsinki")
REGISTRY = load_registry(PROJECT_ROOT / "infra" / "registry" / "demo.yaml")
KEY = "test-key"
MONDAY = datetime(2025, 9, 1, tzinfo=HELSINKI)
DAYS = 60
BIG_UNIT = "terveysasema-kouvola"

Scored = list[tuple[Envelope, Intent | None]]


@pytest.fixture(scope="module")
def sixty_days() -> Scored:
    return list(
        simulate_feedback_scored(REGISTRY, MONDAY, MONDAY + timedelta(days=DAYS), 7, HELSINKI, KEY)
    )


def local_day(event: Envelope) -> date:
    return event.time.astimezone(HELSINKI).date()


def responses_by_unit_day(events: Scored) -> dict[str, Counter[tuple[date, str]]]:
    """Per unit: (local day of the scoring event, category) -> count."""
    found: dict[str, Counter[tuple[date, str]]] = defaultdict(Counter)
    for event, intent in events:
        if intent is not None:
            found[intent.unit_id][(local_day(event), category(intent.score))] += 1
    return found


def window(counts: Counter[tuple[date, str]], first: date, last: date) -> Responses:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return Responses(
        sum(counts[(d, "promoter")] for d in days),
        sum(counts[(d, "passive")] for d in days),
        sum(counts[(d, "detractor")] for d in days),
    )


def test_same_seed_same_events_and_another_seed_others() -> None:
    span = (MONDAY, MONDAY + timedelta(days=3))
    first = [encode(e) for e in simulate_feedback(REGISTRY, *span, 1, HELSINKI, KEY)]
    again = [encode(e) for e in simulate_feedback(REGISTRY, *span, 1, HELSINKI, KEY)]
    other = [encode(e) for e in simulate_feedback(REGISTRY, *span, 2, HELSINKI, KEY)]
    assert first
    assert first == again
    assert first != other


@settings(max_examples=8, deadline=None)
@given(st.integers(min_value=1, max_value=3 * 24 * 60 - 1))
def test_a_range_split_in_two_gives_the_same_events(minutes: int) -> None:
    start, end = MONDAY + timedelta(days=1), MONDAY + timedelta(days=4)
    middle = start + timedelta(minutes=minutes)
    whole = list(simulate_feedback(REGISTRY, start, end, 3, HELSINKI, KEY))
    parts = list(simulate_feedback(REGISTRY, start, middle, 3, HELSINKI, KEY)) + list(
        simulate_feedback(REGISTRY, middle, end, 3, HELSINKI, KEY)
    )
    assert whole == parts


def test_events_parse_are_ordered_and_inside_the_range(sixty_days: Scored) -> None:
    end = MONDAY + timedelta(days=DAYS)
    # In UTC: comparing two times of one zone ignores `fold` at the autumn DST change.
    times = [event.time.astimezone(UTC) for event, _ in sixty_days]
    assert times == sorted(times)
    assert times[0] >= MONDAY
    assert times[-1] < end
    ids = set()
    for event, _ in sixty_days:
        parsed = FEEDBACK.parse(encode(event), end, timedelta(hours=1))
        assert parsed == event.model_copy(update={"time": event.time.astimezone(UTC)})
        assert event.source == SOURCE
        ids.add(event.id)
    assert len(ids) == len(sixty_days)
    messages = [e.data.message_id for e, _ in sixty_days if isinstance(e, SmsReceived)]
    assert all(messages)
    assert len(set(messages)) == len(messages)


def test_surveys_go_out_the_day_after_a_weekday_visit_in_office_hours(
    sixty_days: Scored,
) -> None:
    sent = [e for e, _ in sixty_days if isinstance(e, SurveySent)]
    for event in sent:
        local = event.time.astimezone(HELSINKI)
        assert 9 <= local.hour < 18
        if event.data.unit_id != "kotisairaala":
            assert local.weekday() not in (0, 6)  # visits Mon-Fri
    assert {e.data.unit_id for e in sent} == {u.id for u in REGISTRY.units}
    channels = Counter(e.data.visit_channel for e in sent)
    assert channels.most_common(1)[0][0] == "in_person"
    assert channels["phone"] > 0
    assert channels["video"] > 0
    weekday_counts = Counter((e.data.unit_id, local_day(e)) for e in sent)
    for unit, profile in UNIT_PROFILES.items():
        per_day = [n for (u, _), n in weekday_counts.items() if u == unit]
        mean = sum(per_day) / len(per_day)
        assert 0.6 * profile.visits_per_weekday < mean < 1.3 * profile.visits_per_weekday


def test_delivery_failures_and_response_rate_over_four_weeks(sixty_days: Scored) -> None:
    end = MONDAY + timedelta(days=28)
    four_weeks = [(e, i) for e, i in sixty_days if e.time < end]
    sent = sum(isinstance(e, SurveySent) for e, _ in four_weeks)
    failed = sum(isinstance(e, SurveyDeliveryFailed) for e, _ in four_weeks)
    scored = sum(i is not None for _, i in four_weeks)
    assert 0.015 < failed / sent < 0.025
    assert 0.24 <= scored / (sent - failed) <= 0.30
    web = sum(isinstance(e, SurveyAnswered) for e, _ in four_weeks)
    assert 0.02 < web / (sent - failed) < 0.04


def test_each_unit_nps_is_plausible(sixty_days: Scored) -> None:
    end = MONDAY + timedelta(days=28)
    by_unit = responses_by_unit_day([(e, i) for e, i in sixty_days if e.time < end])
    assert set(by_unit) == {u.id for u in REGISTRY.units}
    for unit, counts in by_unit.items():
        nps = window(counts, MONDAY.date(), end.date()).nps
        assert nps is not None
        assert 55 <= nps <= 90, unit


def test_replies_read_as_intended_and_are_varied(sixty_days: Scored) -> None:
    replies = [(e, i) for e, i in sixty_days if isinstance(e, SmsReceived)]
    outcomes: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    for event, intent in replies:
        reply = read_reply(event.data.text)
        assert reply.score == (intent.score if intent else None), event.data.text
        outcomes[reply.outcome] += 1
        notes[reply.note] += 1
    assert {"opt_out", "comment", "invalid", "scored"} <= set(outcomes)
    assert {"number_word", "keycap", "ambiguous", "out_of_range"} <= set(notes)
    texts = Counter(e.data.text for e, _ in replies)
    assert len(texts) > 200
    assert any(text in texts for text in ("nio", "Nio"))
    scored_texts = [e.data.text for e, i in replies if i is not None]
    assert 0.3 < sum(t.isdigit() for t in scored_texts) / len(scored_texts) < 0.7
    # Second messages: the same recipient writes again with only text.
    per_recipient = Counter(e.data.recipient for e, _ in replies)
    assert sum(n > 1 for n in per_recipient.values()) > 50


def test_replies_come_within_minutes_to_two_days(sixty_days: Scored) -> None:
    last_sent: dict[str, datetime] = {}
    delays: list[timedelta] = []
    answered: set[str] = set()
    for event, _ in sixty_days:
        if isinstance(event, SurveySent):
            assert event.data.recipient is not None
            last_sent[event.data.recipient] = event.time
            answered.discard(event.data.recipient)
        elif (
            isinstance(event, SmsReceived)
            and event.data.recipient in last_sent
            and event.data.recipient not in answered
        ):
            delays.append(event.time - last_sent[event.data.recipient])
            answered.add(event.data.recipient)
    assert all(timedelta(0) < d <= timedelta(days=2) for d in delays)
    within_hour = sum(d <= timedelta(hours=1) for d in delays) / len(delays)
    assert within_hour > 0.6


def test_at_most_one_survey_per_recipient_in_thirty_days(sixty_days: Scored) -> None:
    times: dict[str, list[datetime]] = defaultdict(list)
    for event, _ in sixty_days:
        if isinstance(event, SurveySent):
            assert event.data.recipient is not None
            times[event.data.recipient].append(event.time)
    for moments in times.values():
        for earlier, later in itertools.pairwise(moments):
            assert later - earlier >= timedelta(days=30)
    assert sum(len(m) > 1 for m in times.values()) > 100


def test_a_drop_lowers_the_unit_nps_and_trips_the_alarm() -> None:
    drop_day = MONDAY.date() + timedelta(days=28)
    end = datetime.combine(drop_day + timedelta(days=8), datetime.min.time(), HELSINKI)
    drop = Drop(BIG_UNIT, drop_day, -30)
    events = list(simulate_feedback_scored(REGISTRY, MONDAY, end, 7, HELSINKI, KEY, drop))
    counts = responses_by_unit_day(events)[BIG_UNIT]
    before = window(counts, drop_day - timedelta(days=28), drop_day - timedelta(days=1))
    after = window(counts, drop_day + timedelta(days=1), drop_day + timedelta(days=7))
    assert before.nps is not None
    assert after.nps is not None
    assert after.count >= 30
    assert after.nps <= before.nps - 20
    z = drop_zscore(after, before)
    assert z is not None
    assert z <= DROP_Z
    # The other units are untouched by the drop.
    plain = simulate_feedback_scored(REGISTRY, MONDAY, end, 7, HELSINKI, KEY)
    others = [i for _, i in events if i is not None and i.unit_id != BIG_UNIT]
    assert others == [i for _, i in plain if i is not None and i.unit_id != BIG_UNIT]


def daily_nps(events: Scored, unit: str) -> list[float]:
    """The unit's NPS of each day with at least 20 responses."""
    counts = responses_by_unit_day(events)[unit]
    days = sorted({day for day, _ in counts})
    found = [window(counts, day, day) for day in days]
    return [r.nps for r in found if r.nps is not None and r.count >= 20]


def test_day_effects_are_normal_with_the_stated_spread() -> None:
    effects = [day_effect(BIG_UNIT, MONDAY.date() + timedelta(days=i)) for i in range(3000)]
    assert abs(statistics.mean(effects)) < 0.3
    assert 0.95 * DAY_NPS_SD < statistics.pstdev(effects) < 1.05 * DAY_NPS_SD


def test_day_effects_spread_the_daily_nps_beyond_sampling(
    sixty_days: Scored, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real feedback is over-dispersed (docs/nps-drop.md): the big units' daily NPS varies
    more with the day effects than from who answers alone, by about DAY_NPS_SD² (36); the
    rest of the simulation is the same, as the day effect has a generator of its own."""
    monkeypatch.setattr(feedback, "DAY_NPS_SD", 0.0)
    end = MONDAY + timedelta(days=DAYS)
    without = list(simulate_feedback_scored(REGISTRY, MONDAY, end, 7, HELSINKI, KEY))
    for unit in ("terveysasema-kouvola", "terveysasema-kotka", "hammashoitola"):
        spread = statistics.pvariance(daily_nps(sixty_days, unit))
        sampling = statistics.pvariance(daily_nps(without, unit))
        assert spread - sampling > DAY_NPS_SD**2 / 2, unit


T0 = MONDAY + timedelta(days=1, hours=14)  # Tuesday: Monday's surveys going out
DAY_MS = 86_400_000


def real_time(speed: float, continuing: bool) -> list[tuple[int, Envelope]]:
    """The first simulated day of a real-time run of seed 1 starting at T0."""
    events = realtime_feedback(REGISTRY, HELSINKI, 1, speed, T0, KEY, None, continuing)
    return list(itertools.takewhile(lambda item: item[0] < DAY_MS, events))


def after_surveys_before_t0(events: list[Envelope]) -> list[Envelope]:
    """The events that follow a survey of seed 1's world sent before T0."""
    earlier = [
        e
        for e in simulate_feedback(REGISTRY, T0 - timedelta(days=3), T0, 1, HELSINKI, KEY)
        if isinstance(e, SurveySent)
    ]
    surveys = {e.data.survey_id for e in earlier}
    recipients = {e.data.recipient for e in earlier}
    later = {e.data.recipient for e in events if isinstance(e, SurveySent)}
    assert not recipients & later  # nobody is surveyed twice within days
    return [
        e
        for e in events
        if (isinstance(e, SmsReceived) and e.data.recipient in recipients)
        or (isinstance(e, SurveyDeliveryFailed | SurveyAnswered) and e.data.survey_id in surveys)
    ]


def test_real_time_at_speed_one_continues_the_backfilled_feedback() -> None:
    sent = real_time(1.0, continuing=True)
    world = list(simulate_feedback(REGISTRY, T0, T0 + timedelta(days=1), 1, HELSINKI, KEY))
    assert [e for _, e in sent] == world
    assert [offset for offset, _ in sent] == [to_ms(e.time) - to_ms(T0) for _, e in sent]
    backfilled = list(simulate_feedback(REGISTRY, MONDAY, T0, 1, HELSINKI, KEY))
    whole = list(simulate_feedback(REGISTRY, MONDAY, T0 + timedelta(days=1), 1, HELSINKI, KEY))
    assert backfilled + world == whole
    assert len(after_surveys_before_t0(world)) == 54  # answers to the backfilled surveys


def test_real_time_at_speed_one_alone_sends_only_whole_surveys() -> None:
    sent = [e for _, e in real_time(1.0, continuing=False)]
    world = list(simulate_feedback(REGISTRY, T0, T0 + timedelta(days=1), 1, HELSINKI, KEY))
    left_out = after_surveys_before_t0(world)
    assert len(left_out) == 54
    assert sent == [e for e in world if e not in left_out]


def test_real_time_at_another_speed_has_a_world_of_its_own() -> None:
    sent = real_time(60.0, continuing=True)
    events = [e for _, e in sent]
    assert len(events) > 1000
    seen: set[str] = set()
    for event in events:
        if isinstance(event, SurveySent):
            seen.add(event.data.survey_id)
            seen.add(str(event.data.recipient))
        elif isinstance(event, SmsReceived):
            assert event.data.recipient in seen
        else:
            assert isinstance(event, SurveyDeliveryFailed | SurveyAnswered)
            assert event.data.survey_id in seen
    world = simulate_feedback(REGISTRY, MONDAY, T0 + timedelta(days=1), 1, HELSINKI, KEY)
    assert not {e.id for e in events} & {e.id for e in world}
    assert [offset for offset, _ in sent] == sorted(offset for offset, _ in sent)


def test_real_time_without_units_sends_nothing() -> None:
    empty = REGISTRY.model_copy(update={"units": []})
    assert list(realtime_feedback(empty, HELSINKI, 1, 1.0, T0, KEY, None, False)) == []
