"""The contact model: the county's patient-record contacts, the denominator of the digital share.

The simulation runs per (local day, unit): one generator seeded by (seed, day, unit), so the same
day of a unit always gives the same `contact.recorded` events, whatever range is asked for. Each
contact is one event at the moment it took place; there is no lifecycle.

Volumes (a county of Kymenlaakso's size, docs/calibration.md#contacts): ≈ 10 700 contacts on an
average weekday over the demo registry's units (Monday busiest, Friday quietest), ≈ 3 300 on a
Saturday or Sunday (on-call reception, central client guidance, hospital at home, a little of
everything else), a summer dip in June to August and fewer in December: ≈ 275 000 in a month of 23
weekdays. A sizing of "≈ 300 000 a month" and one of "≈ 10 000 a weekday" cannot both hold with
quiet weekends; the weekday figure wins. Public holidays are not modelled. Social-care advice
(`sosiaalineuvonta`) records no contacts: its client system gives no statistics.

Channels: each unit has a share of digital contacts and a mix of channels within the digital
(`video`, `chat`, `message`, `e_service`, `pathway`) and the other ones (`in_person`, `home_visit`,
`phone`, `other`); phone is not digital. The units' shares are set so that ≈ 38.5 % of the
healthcare contacts are digital, as in Kymenlaakso (docs/calibration.md#digital-share).
Age: each unit has an age profile (bands `0-17`, `18-29`, `30-44`, `45-64`, `65-74`, `75+`);
a contact's chance of being digital is the unit's share times its age band's propensity
(`AGE_PROPENSITY`, highest at 30-44, lowest at 75+), normalised over the unit's age profile so
the unit's share holds. Clients come from the six municipalities of Kymenlaakso (by population,
or by the town of the health station).

Avohilmo contact mode (yhteystapa, `contact_mode_code`): `R10` a visit at the reception
(in_person), `R20` a home visit, `R52` real-time remote service (phone, video and chat share it:
the channel is recorded beside it), `R56` non-real-time remote service (message, e_service).
Contacts in a digital care pathway (`pathway`) and `other` contacts carry no code (None): the
pathway platform records no yhteystapa of its own, and "other" has none that fits; the channel
says what they are.

Ids: `contact_id` is `ct-<world>-<yyyymmdd>-<unit>-<n>`, the world being a tag of the seed, so
ids are unique within a world and never collide between worlds (seeds); event ids are UUIDs
drawn from the day's generator.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Generic, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from services.common.events import Channel, ContactRecorded, ContactRecordedData, Envelope
from services.common.registry import Registry, Unit
from services.simulator.chat import from_ms, to_ms, type_name

SOURCE = "simulator/potilastiedot"
T = TypeVar("T")

AGE_BANDS = ("0-17", "18-29", "30-44", "45-64", "65-74", "75+")
# Relative chance of a contact in a digital channel, by age band: the working-age use digital
# channels most, the old least (children's contacts are handled by their parents).
AGE_PROPENSITY = (1.0, 1.3, 1.35, 1.1, 0.75, 0.4)
# Kymenlaakso's population is old: contacts weigh towards 45+.
AGES = (0.11, 0.10, 0.15, 0.26, 0.18, 0.20)
MUNICIPALITIES = ("kouvola", "kotka", "hamina", "pyhtaa", "miehikkala", "virolahti")
# By population (≈ 80 000, 51 000, 19 000, 5 000, 1 800, 3 000 residents).
POPULATION = (0.50, 0.32, 0.12, 0.032, 0.011, 0.018)
KOUVOLA = (0.97, 0.01, 0.01, 0.004, 0.002, 0.004)
KOTKA = (0.005, 0.70, 0.18, 0.06, 0.02, 0.035)

MODE_CODES: dict[Channel, str | None] = {
    "in_person": "R10",
    "home_visit": "R20",
    "phone": "R52",
    "video": "R52",
    "chat": "R52",
    "message": "R56",
    "e_service": "R56",
    "pathway": None,
    "other": None,
}

Mix = tuple[tuple[T, float], ...]
GENERAL: Mix[str] = (("nurse", 0.55), ("doctor", 0.33), ("other", 0.12))
NURSES: Mix[str] = (("nurse", 0.9), ("doctor", 0.03), ("other", 0.07))


@dataclass(frozen=True)
class UnitContacts:
    """The contacts of one unit."""

    per_weekday: float
    """Contacts on an average weekday (of a month without a seasonal dip)."""
    digital_share: float
    digital: Mix[Channel]
    """Channels of the digital contacts."""
    other: Mix[Channel]
    """Channels of the others."""
    weekend: float = 0.08
    """A Saturday's or Sunday's volume as a share of an average weekday's."""
    ages: tuple[float, ...] = AGES
    professionals: Mix[str] = GENERAL
    municipalities: tuple[float, ...] = POPULATION


HEALTH_STATION = UnitContacts(
    0.0,
    0.385,
    (("message", 0.4), ("e_service", 0.33), ("video", 0.1), ("pathway", 0.12), ("chat", 0.05)),
    (("in_person", 0.68), ("phone", 0.3), ("other", 0.02)),
    weekend=0.45,
)
UNIT_CONTACTS: dict[str, UnitContacts] = {
    # Central client guidance: the phone service, chat, messages and e-services of reception.
    "asiakasohjaus": UnitContacts(
        1500.0,
        0.58,
        (("chat", 0.38), ("message", 0.3), ("e_service", 0.32)),
        (("phone", 0.95), ("other", 0.05)),
        weekend=0.5,
        professionals=NURSES,
    ),
    "terveysasema-kouvola": replace(HEALTH_STATION, per_weekday=2300.0, municipalities=KOUVOLA),
    "terveysasema-kotka": replace(HEALTH_STATION, per_weekday=1700.0, municipalities=KOTKA),
    # The doctor's remote reception: video and chat, some phone.
    "laakaripalvelut": UnitContacts(
        300.0,
        0.75,
        (("video", 0.55), ("chat", 0.3), ("message", 0.15)),
        (("phone", 1.0),),
        ages=(0.10, 0.20, 0.30, 0.25, 0.10, 0.05),
        professionals=(("doctor", 0.95), ("other", 0.05)),
    ),
    # Chronic-disease nurses: pathways and messages, phone follow-ups.
    "pitkaaikaissairaudet": UnitContacts(
        400.0,
        0.55,
        (("pathway", 0.4), ("message", 0.35), ("video", 0.1), ("chat", 0.15)),
        (("phone", 0.6), ("in_person", 0.4)),
        ages=(0.0, 0.02, 0.06, 0.35, 0.33, 0.24),
        professionals=NURSES,
    ),
    "hammashoitola": UnitContacts(
        1300.0,
        0.16,
        (("e_service", 0.7), ("message", 0.3)),
        (("in_person", 0.93), ("phone", 0.07)),
        weekend=0.1,
        ages=(0.25, 0.10, 0.15, 0.24, 0.14, 0.12),
        professionals=(("dentist", 0.5), ("dental_hygienist", 0.25), ("nurse", 0.25)),
    ),
    # Hospital at home: visits every day of the week.
    "kotisairaala": UnitContacts(
        250.0,
        0.15,
        (("video", 0.8), ("message", 0.2)),
        (("home_visit", 0.85), ("phone", 0.15)),
        weekend=0.95,
        ages=(0.0, 0.01, 0.03, 0.11, 0.25, 0.60),
        professionals=(("nurse", 0.85), ("doctor", 0.15)),
    ),
    "kuntoutus-avo": UnitContacts(
        900.0,
        0.34,
        (("video", 0.35), ("e_service", 0.2), ("pathway", 0.35), ("message", 0.1)),
        (("in_person", 0.8), ("home_visit", 0.08), ("phone", 0.12)),
        ages=(0.08, 0.08, 0.14, 0.30, 0.20, 0.20),
        professionals=(("physiotherapist", 0.6), ("other", 0.3), ("doctor", 0.1)),
    ),
    "psykiatria-avo": UnitContacts(
        1000.0,
        0.45,
        (("video", 0.45), ("message", 0.35), ("pathway", 0.1), ("chat", 0.1)),
        (("in_person", 0.65), ("phone", 0.35)),
        weekend=0.12,
        ages=(0.03, 0.30, 0.30, 0.27, 0.07, 0.03),
        professionals=(("nurse", 0.6), ("doctor", 0.15), ("psychologist", 0.15), ("other", 0.1)),
    ),
    "neuvola": UnitContacts(
        600.0,
        0.30,
        (("message", 0.6), ("video", 0.25), ("e_service", 0.15)),
        (("in_person", 0.85), ("phone", 0.12), ("home_visit", 0.03)),
        ages=(0.45, 0.25, 0.28, 0.02, 0.0, 0.0),
        professionals=(("nurse", 0.85), ("doctor", 0.1), ("other", 0.05)),
    ),
    "naistentaudit": UnitContacts(
        300.0,
        0.2,
        (("message", 0.5), ("e_service", 0.3), ("video", 0.2)),
        (("in_person", 0.85), ("phone", 0.15)),
        ages=(0.02, 0.25, 0.35, 0.28, 0.07, 0.03),
        professionals=(("doctor", 0.45), ("midwife", 0.35), ("nurse", 0.2)),
    ),
    "korva": UnitContacts(
        250.0,
        0.15,
        (("message", 0.5), ("video", 0.3), ("e_service", 0.2)),
        (("in_person", 0.85), ("phone", 0.15)),
        ages=(0.15, 0.08, 0.12, 0.25, 0.20, 0.20),
        professionals=(("doctor", 0.6), ("nurse", 0.35), ("other", 0.05)),
    ),
    # Social care: its client system gives no statistics (docs/calibration.md#contacts).
    "sosiaalineuvonta": UnitContacts(0.0, 0.0, (("message", 1.0),), (("phone", 1.0),)),
}
DEFAULT_CONTACTS = UnitContacts(
    200.0,
    0.3,
    (("message", 0.5), ("video", 0.3), ("e_service", 0.2)),
    (("in_person", 0.8), ("phone", 0.2)),
)

WEEKDAY_FACTOR = (1.12, 1.03, 1.0, 0.98, 0.87)
MONTH_FACTOR = (1.0, 1.02, 1.02, 1.0, 0.97, 0.85, 0.65, 0.9, 1.02, 1.0, 1.02, 0.88)
# Relative volume by local hour: reception and phone hours, remote messages into the evening.
OFFICE_HOURS = (
    0, 0, 0, 0, 0, 0, 0.1, 0.6, 1.4, 1.5, 1.4, 1.1,
    1.0, 1.2, 1.1, 0.8, 0.3, 0.1, 0.05, 0.03, 0.02, 0, 0, 0,
)  # fmt: skip
REMOTE_HOURS = (
    0.02, 0.01, 0, 0, 0, 0.02, 0.1, 0.5, 1.0, 1.1, 1.1, 1.0,
    0.9, 1.0, 1.0, 0.8, 0.5, 0.4, 0.4, 0.4, 0.35, 0.25, 0.12, 0.05,
)  # fmt: skip
ON_CALL_HOURS = (
    0.15, 0.1, 0.08, 0.07, 0.07, 0.1, 0.2, 0.5, 0.9, 1.1, 1.1, 1.1,
    1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.35, 0.2,
)  # fmt: skip
REMOTE_CHANNELS: frozenset[str] = frozenset({"message", "e_service", "pathway"})
_HOUR = 3_600_000


class Picker(Generic[T]):
    """A weighted choice with one uniform draw (bisect on cumulative weights)."""

    def __init__(self, choices: Mix[T]) -> None:
        kept = [(value, weight) for value, weight in choices if weight > 0]
        self.values = [value for value, _ in kept]
        self.cumulative = list(itertools.accumulate(weight for _, weight in kept))
        self.total = self.cumulative[-1] if kept else 0.0

    def __call__(self, rng: random.Random) -> T:
        i = bisect.bisect_right(self.cumulative, rng.random() * self.total)
        return self.values[min(i, len(self.values) - 1)]


class Plan(NamedTuple):
    """What the simulation needs of a unit's profile, computed once."""

    profile: UnitContacts
    ages: Picker[int]
    digital_by_age: tuple[float, ...]
    digital: Picker[Channel]
    other: Picker[Channel]
    professionals: Picker[str]
    municipalities: Picker[str]


@cache
def plan_of(unit_id: str) -> Plan:
    profile = UNIT_CONTACTS.get(unit_id, DEFAULT_CONTACTS)
    mean = sum(a * p for a, p in zip(profile.ages, AGE_PROPENSITY, strict=True))
    digital_by_age = tuple(min(0.95, profile.digital_share * p / mean) for p in AGE_PROPENSITY)
    return Plan(
        profile,
        Picker(tuple(zip(range(len(AGE_BANDS)), profile.ages, strict=True))),
        digital_by_age,
        Picker(profile.digital),
        Picker(profile.other),
        Picker(profile.professionals),
        Picker(tuple(zip(MUNICIPALITIES, profile.municipalities, strict=True))),
    )


HOUR_PICKERS = {
    name: Picker(tuple(enumerate(weights)))
    for name, weights in (
        ("office", OFFICE_HOURS),
        ("remote", REMOTE_HOURS),
        ("on_call", ON_CALL_HOURS),
    )
}


def expected_contacts(unit_id: str, day: date) -> float:
    """A unit's expected contacts on a local day."""
    profile = UNIT_CONTACTS.get(unit_id, DEFAULT_CONTACTS)
    weekday = day.weekday()
    factor = WEEKDAY_FACTOR[weekday] if weekday < 5 else profile.weekend
    return profile.per_weekday * factor * MONTH_FACTOR[day.month - 1]


def world_tag(seed: int) -> str:
    """A short tag of the seed in ids: different worlds never share an id."""
    return hashlib.sha256(f"kanava/{seed}".encode()).hexdigest()[:8]


def simulate_contacts(
    registry: Registry, start: datetime, end: datetime, seed: int, tz: ZoneInfo
) -> Iterator[Envelope]:
    """`contact.recorded` events with start <= time < end, in non-decreasing time, local times
    in `tz`."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    start_ms, end_ms = to_ms(start), to_ms(end)
    day = start.astimezone(tz).date()
    while to_ms(datetime.combine(day, time(), tz)) < end_ms:
        for moment, event in simulate_day(registry, day, seed, tz):
            if moment >= end_ms:
                return
            if moment >= start_ms:
                yield event
        day += timedelta(days=1)


def contact_days(
    registry: Registry, first_day: date, seed: int, tz: ZoneInfo
) -> Iterator[tuple[int, Envelope]]:
    """(epoch milliseconds, event) of every day from `first_day` on, endlessly, in time order;
    nothing at all when no unit of the registry records contacts."""
    if not any(plan_of(unit.id).profile.per_weekday > 0 for unit in registry.units):
        return
    day = first_day
    while True:
        yield from simulate_day(registry, day, seed, tz)
        day += timedelta(days=1)


def simulate_day(
    registry: Registry, day: date, seed: int, tz: ZoneInfo
) -> Iterator[tuple[int, Envelope]]:
    """The contacts of one local day of every unit, in time order (ties: registry order)."""
    hours = [to_ms(datetime.combine(day, time(hour), tz)) for hour in range(24)]
    hours.append(to_ms(datetime.combine(day + timedelta(days=1), time(), tz)))
    tag = world_tag(seed)
    contacts: list[tuple[int, int, ContactRecordedData, int]] = []
    for unit in registry.units:
        contacts += unit_day(unit, day, seed, tag, hours, len(contacts))
    contacts.sort(key=lambda contact: contact[:2])
    for moment, _, data, event_id in contacts:
        yield moment, envelope(moment, data, event_id, tz)


def unit_day(
    unit: Unit, day: date, seed: int, tag: str, hours: list[int], offset: int
) -> list[tuple[int, int, ContactRecordedData, int]]:
    """(moment, order, data, event id as an int) of a unit's contacts of a day."""
    plan = plan_of(unit.id)
    mean = expected_contacts(unit.id, day)
    if mean <= 0:
        return []
    rng = random.Random(f"kanava-contacts/{seed}/{day.isoformat()}/{unit.id}")
    count = max(0, round(rng.gauss(mean, 1.2 * math.sqrt(mean))))
    weekend = day.weekday() >= 5
    prefix = f"ct-{tag}-{day:%Y%m%d}-{unit.id}-"
    contacts = []
    for n in range(count):
        age = plan.ages(rng)
        digital = rng.random() < plan.digital_by_age[age]
        channel = plan.digital(rng) if digital else plan.other(rng)
        kind = "on_call" if weekend else "remote" if channel in REMOTE_CHANNELS else "office"
        hour = HOUR_PICKERS[kind](rng)
        moment = hours[hour] + int(rng.random() * (hours[hour + 1] - hours[hour]))
        data = ContactRecordedData(
            contact_id=f"{prefix}{n:05d}",
            unit_id=unit.id,
            channel=channel,
            service_area=unit.service_area,
            contact_mode_code=MODE_CODES[channel],
            professional_group=plan.professionals(rng),
            age_band=AGE_BANDS[age],
            municipality=plan.municipalities(rng),
        )
        contacts.append((moment, offset + n, data, rng.getrandbits(128)))
    return contacts


def envelope(moment: int, data: ContactRecordedData, event_id: int, tz: ZoneInfo) -> Envelope:
    return ContactRecorded.model_validate(
        {
            "specversion": "1.0",
            "id": str(uuid.UUID(int=event_id, version=4)),
            "source": SOURCE,
            "type": type_name(ContactRecorded),
            "time": from_ms(moment, tz),
            "datacontenttype": "application/json",
            "data": data,
        }
    )
