"""The contact model of the simulator: deterministic, valid, fast, and calibrated on Kymenlaakso
(docs/calibration.md#contacts)."""

from __future__ import annotations

import itertools
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.events import CONTACT, ContactRecorded, Envelope
from services.common.producer import encode
from services.common.registry import load_registry
from services.common.settings import DEFAULT_DIGITAL_CHANNELS, PROJECT_ROOT
from services.simulator.chat import to_ms
from services.simulator.contacts import AGE_BANDS, MODE_CODES, MUNICIPALITIES, simulate_contacts
from services.simulator.run import derived_seed, realtime_contacts

HELSINKI = ZoneInfo("Europe/Helsinki")
REGISTRY = load_registry(PROJECT_ROOT / "infra" / "registry" / "demo.yaml")
MONTH_START = datetime(2025, 10, 1, tzinfo=HELSINKI)  # 23 weekdays, the DST change on the 26th
MONTH_END = datetime(2025, 11, 1, tzinfo=HELSINKI)
DIGITAL = set(DEFAULT_DIGITAL_CHANNELS)
UNIT_AREAS = {u.id: u.service_area for u in REGISTRY.units}


def narrow(event: Envelope) -> ContactRecorded:
    assert isinstance(event, ContactRecorded)
    return event


def simulate(start: datetime, end: datetime, seed: int) -> list[ContactRecorded]:
    return [narrow(e) for e in simulate_contacts(REGISTRY, start, end, seed, HELSINKI)]


@pytest.fixture(scope="module")
def month() -> list[ContactRecorded]:
    began = time.perf_counter()
    events = simulate(MONTH_START, MONTH_END, 5)
    assert time.perf_counter() - began < 30  # a month of contacts in well under a minute
    return events


def local_day(event: ContactRecorded) -> date:
    return event.time.astimezone(HELSINKI).date()


def digital_share(events: list[ContactRecorded]) -> float:
    return sum(e.data.channel in DIGITAL for e in events) / len(events)


def test_same_seed_same_events_and_another_seed_others() -> None:
    span = (datetime(2025, 11, 3, 8, tzinfo=HELSINKI), datetime(2025, 11, 3, 10, tzinfo=HELSINKI))
    first = [encode(e) for e in simulate_contacts(REGISTRY, *span, 1, HELSINKI)]
    again = [encode(e) for e in simulate_contacts(REGISTRY, *span, 1, HELSINKI)]
    other = [encode(e) for e in simulate_contacts(REGISTRY, *span, 2, HELSINKI)]
    assert len(first) == 3161
    assert first == again
    assert not set(first) & set(other)


def test_a_range_split_in_two_gives_the_same_events() -> None:
    start, end = datetime(2025, 11, 2, tzinfo=HELSINKI), datetime(2025, 11, 4, tzinfo=HELSINKI)
    whole = list(simulate_contacts(REGISTRY, start, end, 3, HELSINKI))
    for middle in (start + timedelta(hours=30, minutes=17, milliseconds=5), start):
        parts = list(simulate_contacts(REGISTRY, start, middle, 3, HELSINKI)) + list(
            simulate_contacts(REGISTRY, middle, end, 3, HELSINKI)
        )
        assert whole == parts


def test_events_parse_are_ordered_inside_the_range_and_unique(
    month: list[ContactRecorded],
) -> None:
    times = [event.time.astimezone(UTC) for event in month]
    assert times == sorted(times)
    assert times[0] >= MONTH_START
    assert times[-1] < MONTH_END
    for event in month:
        parsed = CONTACT.parse(encode(event), MONTH_END, timedelta(hours=1))
        assert parsed == event.model_copy(update={"time": event.time.astimezone(UTC)})
        assert CONTACT.key(parsed) == event.data.contact_id.encode()
    assert len({e.id for e in month}) == len(month)
    assert len({e.data.contact_id for e in month}) == len(month)


def test_a_month_has_about_ten_thousand_contacts_a_weekday(
    month: list[ContactRecorded],
) -> None:
    assert len(month) == 272_652
    per_day = Counter(local_day(e) for e in month)
    weekdays = [n for day, n in per_day.items() if day.weekday() < 5]
    weekends = [n for day, n in per_day.items() if day.weekday() >= 5]
    assert (len(weekdays), len(weekends)) == (23, 8)
    weekday_mean = sum(weekdays) / len(weekdays)
    weekend_mean = sum(weekends) / len(weekends)
    assert 8500 <= weekday_mean <= 11_500
    assert weekend_mean < 0.4 * weekday_mean
    mondays = [n for day, n in per_day.items() if day.weekday() == 0]
    fridays = [n for day, n in per_day.items() if day.weekday() == 4]
    assert min(mondays) > max(fridays)


def test_the_digital_share_is_as_in_kymenlaakso(month: list[ContactRecorded]) -> None:
    share = digital_share(month)
    assert 0.36 <= share <= 0.40  # Kymenlaakso: 38.50 % (docs/calibration.md#digital-share)
    assert round(share, 4) == 0.3845
    by_unit: dict[str, list[ContactRecorded]] = defaultdict(list)
    for event in month:
        by_unit[event.data.unit_id].append(event)
    # Social-care advice gives no statistics; the remote doctor is the most digital.
    assert set(by_unit) == set(UNIT_AREAS) - {"sosiaalineuvonta"}
    shares = {unit: digital_share(events) for unit, events in by_unit.items()}
    assert max(shares, key=shares.__getitem__) == "laakaripalvelut"
    assert shares["hammashoitola"] < 0.2


def test_older_clients_use_digital_channels_less(month: list[ContactRecorded]) -> None:
    by_age: dict[str, list[ContactRecorded]] = defaultdict(list)
    for event in month:
        by_age[str(event.data.age_band)].append(event)
    assert set(by_age) == set(AGE_BANDS)
    shares = [digital_share(by_age[band]) for band in AGE_BANDS]
    assert shares[2] > shares[3] > shares[4] > shares[5]  # 30-44 down to 75+
    assert shares[5] < 0.2 < 0.45 < shares[2]


def test_fields_are_consistent(month: list[ContactRecorded]) -> None:
    channels = Counter(e.data.channel for e in month)
    assert set(channels) == set(MODE_CODES)
    assert channels.most_common(1)[0][0] == "in_person"
    municipalities = Counter(e.data.municipality for e in month)
    assert set(municipalities) == set(MUNICIPALITIES)
    assert [m for m, _ in municipalities.most_common(3)] == ["kouvola", "kotka", "hamina"]
    groups = Counter(e.data.professional_group for e in month)
    assert groups.most_common(2)[0][0] == "nurse"
    assert "doctor" in groups
    for event in month:
        data = event.data
        assert data.service_area == UNIT_AREAS[data.unit_id]
        assert data.contact_mode_code == MODE_CODES[data.channel]
    codes = {(e.data.channel, e.data.contact_mode_code) for e in month}
    assert ("phone", "R52") in codes
    assert ("chat", "R52") in codes
    assert ("message", "R56") in codes
    assert ("pathway", None) in codes
    kotisairaala = Counter(e.data.channel for e in month if e.data.unit_id == "kotisairaala")
    assert kotisairaala.most_common(1)[0][0] == "home_visit"


T0 = datetime(2025, 11, 4, 11, 30, tzinfo=HELSINKI)
HOUR_MS = 3_600_000


def test_real_time_sends_the_contacts_from_t0_of_the_same_or_a_world_of_its_own() -> None:
    def first_hours(speed: float) -> list[tuple[int, ContactRecorded]]:
        events = realtime_contacts(REGISTRY, HELSINKI, 1, speed, T0)
        first = itertools.takewhile(lambda item: item[0] < 2 * HOUR_MS, events)
        return [(offset, narrow(event)) for offset, event in first]

    world = simulate(T0, T0 + timedelta(hours=2), 1)
    sent = first_hours(1.0)
    assert [e for _, e in sent] == world
    assert [offset for offset, _ in sent] == [to_ms(e.time) - to_ms(T0) for _, e in sent]
    own = first_hours(60.0)
    seed = derived_seed(1, T0)
    assert [e for _, e in own] == simulate(T0, T0 + timedelta(hours=2), seed)
    assert not {e.data.contact_id for _, e in own} & {e.data.contact_id for e in world}


def test_without_units_that_record_contacts_nothing_is_simulated() -> None:
    empty = REGISTRY.model_copy(update={"units": []})
    assert list(realtime_contacts(empty, HELSINKI, 1, 1.0, T0)) == []
    social = REGISTRY.model_copy(update={"units": [REGISTRY.unit("sosiaalineuvonta")]})
    assert list(realtime_contacts(social, HELSINKI, 1, 1.0, T0)) == []
    assert list(simulate_contacts(empty, MONTH_START, MONTH_END, 1, HELSINKI)) == []
