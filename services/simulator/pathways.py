"""The pathway model: enrolments in digital care pathways (digihoitopolut) and their course.

Volumes (Kymenlaakso 2025, docs/calibration.md#pathways): 4 646 starts a year, of which the
self-care pathways 3 267 (≈ 70 %). The hybrid "Selkee suunta!" had 28 starts in a month: 336 a
year. The registry's professional pathways stand for all the others, the KymenHVA app's apart from
the hybrid (1 013 less 336) and Oma Kymenlaakso's 366: 1 043 a year, shared in proportion to the
starts of January to October 2025 (asthma 86, rheumatic 119, hypertension 32, COPD 13, back
symptoms 78, type 2 diabetes 27, oral/maxillofacial 7, cardiology 1, haematology 3). The self-care
starts are shared in proportion to their ongoing plus completed clients (nicotine 476 + 157, sleep
92 + 122, osteoarthritis 546). A pathway the model does not know gets a middling share of its kind.

Each (year, pathway) has a plan, drawn by a generator seeded by (seed, year, pathway): its
yearly number of starts exactly (largest-remainder rounding, so a calendar year gives the
county's figures), each with a start mode (`professional`: a professional adds the client, on
weekdays in office hours; `booking`: the pathway starts with a booking; `self`: the client joins,
any day, often in the evening; professional pathways are mostly added by a professional or a
booking, self-care ones mostly joined by the client), a local day (a weekday pattern per mode,
a January peak and a summer dip), a unit of the pathway's service area (weighted by the unit's
size; none when the registry has no unit there) and whether the client identified.

Each enrolment then runs its course on a generator of its own, seeded by its id: the pathway's
tasks one after another over the following days or weeks, at the hours people do them, and an
end: completed, discontinued (with a reason) or none (still active, or quietly idle). Durations
(`COURSES`): professional pathways weeks to a few months; self-care coaching a few weeks (sleep)
to months (nicotine), osteoarthritis self-care never completes; ≈ 75 % of "Selkee suunta!"
enrolments are still active 30 days after their start (21 of 28). Some enrolments leave a thumbs
up or down (mostly up): after the completion, or after a task. Every event of an enrolment falls
within `LIFETIME` of its start.

Ids: enrolment ids are `e-<world>-<pathway>-<year>-<n>`, the world a tag of the seed; event ids
are UUIDs from the enrolment's generator. The same seed gives the same events whatever range is
asked for: a range shows every event in it, also the later events of enrolments that started
before it.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Literal, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from services.common.events import (
    Data,
    EnrolmentData,
    Envelope,
    PathwayCompleted,
    PathwayDiscontinued,
    PathwayDiscontinuedData,
    PathwayFeedback,
    PathwayFeedbackData,
    PathwayStarted,
    PathwayStartedData,
    PathwayTaskCompleted,
    PathwayTaskCompletedData,
)
from services.common.registry import Pathway, Registry
from services.simulator.chat import from_ms, to_ms, type_name
from services.simulator.contacts import DEFAULT_CONTACTS, UNIT_CONTACTS, Picker, world_tag

T = TypeVar("T")
Kind = Literal["professional", "self_care", "hybrid"]
Mode = Literal["self", "professional", "booking"]
Outcome = Literal["completed", "discontinued", "open"]
Mix = tuple[tuple[T, float], ...]

TOTAL_STARTS = 4646
SELF_CARE_STARTS = 3267
HYBRID_STARTS = 12 * 28
"""A year of a hybrid pathway: "Selkee suunta!" had 28 starts in a month."""
KIND_STARTS: dict[Kind, int] = {
    "professional": TOTAL_STARTS - SELF_CARE_STARTS - HYBRID_STARTS,
    "self_care": SELF_CARE_STARTS,
}
RELATIVE_STARTS: dict[str, float] = {
    "astma": 86,
    "reuma": 119,
    "verenpaine": 32,
    "keuhkoahtauma": 13,
    "selkaoireet": 78,
    "diabetes-2": 27,
    "suu-leuka": 7,
    "kardiologia": 1,
    "hematologia": 3,
    "nikotiini": 476 + 157,
    "uni": 92 + 122,
    "nivelrikko": 546,
}
DEFAULT_RELATIVE: dict[Kind, float] = {"professional": 30, "self_care": 400}

MODES: dict[Kind, Mix[Mode]] = {
    "professional": (("professional", 0.6), ("booking", 0.3), ("self", 0.1)),
    "self_care": (("self", 0.88), ("professional", 0.1), ("booking", 0.02)),
    "hybrid": (("professional", 0.55), ("self", 0.35), ("booking", 0.1)),
}
AUTHENTICATED: dict[Kind, float] = {"professional": 0.99, "self_care": 0.9, "hybrid": 0.97}
# Starts by weekday (Monday first) per start mode: professionals on weekdays, clients any day.
MODE_WEEKDAYS: dict[Mode, tuple[float, ...]] = {
    "professional": (1.2, 1.1, 1.05, 1.0, 0.85, 0.0, 0.0),
    "booking": (1.15, 1.05, 1.0, 1.0, 0.9, 0.25, 0.2),
    "self": (1.3, 1.1, 1.0, 1.0, 0.85, 0.6, 0.9),
}
MONTH_FACTOR = (1.25, 1.1, 1.05, 1.0, 0.95, 0.8, 0.55, 0.9, 1.1, 1.1, 1.05, 0.8)
OFFICE_HOURS = (
    0, 0, 0, 0, 0, 0, 0, 0.3, 1.2, 1.4, 1.3, 1.0,
    0.9, 1.2, 1.1, 0.8, 0.3, 0, 0, 0, 0, 0, 0, 0,
)  # fmt: skip
BOOKING_HOURS = (
    0, 0, 0, 0, 0, 0, 0.05, 0.4, 1.1, 1.3, 1.2, 1.0,
    0.9, 1.1, 1.0, 0.8, 0.5, 0.4, 0.4, 0.45, 0.4, 0.3, 0.1, 0,
)  # fmt: skip
CLIENT_HOURS = (
    0.1, 0.05, 0.02, 0.01, 0.01, 0.05, 0.3, 0.6, 0.8, 0.8, 0.8, 0.8,
    0.8, 0.8, 0.8, 0.9, 1.0, 1.1, 1.3, 1.5, 1.6, 1.4, 0.9, 0.4,
)  # fmt: skip
MODE_HOURS: dict[Mode, tuple[float, ...]] = {
    "professional": OFFICE_HOURS,
    "booking": BOOKING_HOURS,
    "self": CLIENT_HOURS,
}
LIFETIME = timedelta(days=250)
"""Every event of an enrolment is within this of its start."""
_MINUTE = 60_000
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


@dataclass(frozen=True)
class Spread:
    """Days: lognormal around `median`, kept within [low, high]."""

    median: float
    sigma: float
    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        days = rng.lognormvariate(math.log(self.median), self.sigma)
        return min(max(days, self.low), self.high)


@dataclass(frozen=True)
class Course:
    """How an enrolment in a pathway goes."""

    completed: float
    discontinued: float
    """Shares of enrolments that end so; the rest never end (active, or idle)."""
    done: Spread
    """Days from the start to the completion."""
    dropout: Spread
    """Days from the start to the discontinuation."""
    active: Spread
    """Days an enrolment that never ends keeps doing tasks."""
    tasks: tuple[str, ...]
    reasons: Mix[str]
    feedback: float
    """Share of enrolments that leave a thumbs up or down."""
    ends_in_office: bool = True
    """Completions are marked by a professional (office hours), not by the client's last step."""


PROFESSIONAL = Course(
    completed=0.78,
    discontinued=0.14,
    done=Spread(42, 0.5, 7, 180),
    dropout=Spread(30, 0.7, 3, 180),
    active=Spread(45, 0.6, 3, 200),
    tasks=("esitietolomake", "oirekysely", "hoito-ohjeet", "seurantakysely"),
    reasons=(("ended_by_professional", 0.5), ("no_response", 0.3), ("client_request", 0.2)),
    feedback=0.3,
)
SELF_CARE = Course(
    completed=0.4,
    discontinued=0.2,
    done=Spread(56, 0.35, 21, 200),
    dropout=Spread(45, 0.7, 7, 240),
    active=Spread(60, 0.8, 1, 240),
    tasks=("aloituskysely", "osio-1", "osio-2", "osio-3", "osio-4", "loppukysely"),
    reasons=(("inactive", 0.7), ("client_request", 0.3)),
    feedback=0.15,
    ends_in_office=False,
)
HYBRID = Course(
    completed=0.55,
    discontinued=0.34,
    done=Spread(90, 0.3, 35, 200),
    dropout=Spread(20, 0.8, 3, 200),
    active=Spread(60, 0.6, 7, 240),
    tasks=(
        "alkukartoitus",
        "moduuli-1",
        "ammattilaisen-yhteydenotto",
        "moduuli-2",
        "moduuli-3",
        "moduuli-4",
        "loppukartoitus",
    ),
    reasons=(("inactive", 0.5), ("client_request", 0.3), ("ended_by_professional", 0.2)),
    feedback=0.3,
)
KIND_COURSES: dict[Kind, Course] = {
    "professional": PROFESSIONAL,
    "self_care": SELF_CARE,
    "hybrid": HYBRID,
}
COURSES: dict[str, Course] = {
    "astma": replace(
        PROFESSIONAL,
        tasks=(
            "esitietolomake",
            "astmakysely",
            "pef-seuranta",
            "inhalaatio-ohje",
            "hoitosuunnitelma",
        ),
    ),
    "reuma": replace(
        PROFESSIONAL,
        done=Spread(60, 0.5, 14, 200),
        tasks=(
            "esitietolomake",
            "oirekysely",
            "laboratorio-ohje",
            "laakehoito-ohje",
            "vointikysely",
        ),
    ),
    "verenpaine": replace(
        PROFESSIONAL,
        done=Spread(21, 0.4, 7, 90),
        tasks=("esitietolomake", "verenpaineen-kotimittaus", "mittaustulokset", "elintapakysely"),
    ),
    "keuhkoahtauma": replace(
        PROFESSIONAL,
        tasks=("esitietolomake", "cat-kysely", "liikuntaohjeet", "hoitosuunnitelma"),
    ),
    "selkaoireet": replace(
        PROFESSIONAL,
        done=Spread(56, 0.35, 21, 150),
        tasks=(
            "oirekysely",
            "harjoitusohjelma-1",
            "harjoitusohjelma-2",
            "harjoitusohjelma-3",
            "loppukysely",
        ),
    ),
    "diabetes-2": replace(
        PROFESSIONAL,
        tasks=(
            "esitietolomake",
            "verensokeriseuranta",
            "ravitsemusohje",
            "liikuntapaivakirja",
            "vuosikontrolli",
        ),
    ),
    "suu-leuka": replace(
        PROFESSIONAL,
        done=Spread(28, 0.5, 7, 120),
        tasks=("esitietolomake", "toimenpideohjeet", "jalkikysely"),
    ),
    "kardiologia": replace(
        PROFESSIONAL,
        done=Spread(28, 0.5, 7, 120),
        tasks=("esitietolomake", "oirekysely", "toimenpideohjeet", "jalkikysely"),
    ),
    "hematologia": replace(
        PROFESSIONAL, tasks=("esitietolomake", "laboratorio-ohje", "vointikysely")
    ),
    # Sleep: 122 completed to 92 ongoing; a programme of six weekly parts.
    "uni": replace(
        SELF_CARE,
        completed=0.55,
        discontinued=0.15,
        done=Spread(49, 0.25, 28, 120),
        tasks=("unipaivakirja", "osio-1", "osio-2", "osio-3", "osio-4", "osio-5", "osio-6"),
    ),
    # Nicotine: 157 completed to 476 ongoing; about three months.
    "nikotiini": replace(
        SELF_CARE,
        completed=0.25,
        discontinued=0.25,
        done=Spread(84, 0.25, 42, 200),
        tasks=("lopetuspaiva", "viikko-1", "viikko-2", "viikko-4", "viikko-8", "viikko-12"),
    ),
    # Osteoarthritis: 546 ongoing, none completed: a self-care resource one keeps using.
    "nivelrikko": replace(
        SELF_CARE,
        completed=0.0,
        discontinued=0.12,
        active=Spread(90, 0.8, 1, 240),
        tasks=("tietoisku", "harjoitusohjelma", "kipupaivakirja", "harjoitusohjelma-2"),
    ),
}
THUMBS_UP: dict[Outcome, float] = {"completed": 0.9, "open": 0.8, "discontinued": 0.5}


class Enrolment(NamedTuple):
    moment: int
    enrolment_id: str
    pathway: Pathway
    mode: Mode
    unit_id: str | None
    authenticated: bool


class Planned(NamedTuple):
    """One event of an enrolment, before its envelope is built."""

    moment: int
    started: int
    """When its enrolment started (epoch milliseconds)."""
    kind: type[Envelope]
    event_id: int
    data: Data
    source: str

    def event(self, tz: ZoneInfo) -> Envelope:
        return self.kind.model_validate(
            {
                "specversion": "1.0",
                "id": str(uuid.UUID(int=self.event_id, version=4)),
                "source": self.source,
                "type": type_name(self.kind),
                "time": from_ms(self.moment, tz),
                "datacontenttype": "application/json",
                "data": self.data,
            }
        )


def simulate_pathways(
    registry: Registry, start: datetime, end: datetime, seed: int, tz: ZoneInfo
) -> Iterator[Envelope]:
    """Pathway events with start <= time < end, in non-decreasing time, local times in `tz`;
    the events in range of enrolments that started before `start` too."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    start_ms, end_ms = to_ms(start), to_ms(end)
    first_day = start.astimezone(tz).date() - LIFETIME
    last_year = end.astimezone(tz).year
    for planned in pathway_world(registry, first_day, seed, tz, last_year):
        if planned.moment >= end_ms:
            return
        if planned.moment >= start_ms:
            yield planned.event(tz)


def pathway_world(
    registry: Registry, first_day: date, seed: int, tz: ZoneInfo, last_year: int | None = None
) -> Iterator[Planned]:
    """The events of the enrolments that start from `first_day` on, in time order (ties: in
    the order of their enrolments' starts), up to the end of `last_year`'s enrolments, or
    endlessly; nothing at all when no pathway of the registry has starts."""
    volumes = yearly_starts(registry)
    if not any(volumes.values()):
        return
    first_ms = to_ms(datetime.combine(first_day, time(), tz))
    pending: list[tuple[int, int, Planned]] = []
    order = itertools.count()
    for year in itertools.count(first_day.year):
        if last_year is not None and year > last_year:
            break
        for enrolment in year_plan(registry, volumes, year, seed, tz):
            if enrolment.moment >= first_ms:
                for planned in course(enrolment, tz):
                    heapq.heappush(pending, (planned.moment, next(order), planned))
        # Later enrolments start from next year's first day on.
        horizon = to_ms(datetime.combine(date(year + 1, 1, 1), time(), tz))
        while pending and pending[0][0] < horizon:
            yield heapq.heappop(pending)[2]
    while pending:
        yield heapq.heappop(pending)[2]


def yearly_starts(registry: Registry) -> dict[str, int]:
    """Starts a year per pathway id: each kind's total shared by the relative volumes, a year
    of 28 a month per hybrid pathway."""
    starts: dict[str, int] = {}
    for kind in ("professional", "self_care"):
        pathways = [p for p in registry.pathways if p.kind == kind]
        weights = [RELATIVE_STARTS.get(p.id, DEFAULT_RELATIVE[kind]) for p in pathways]
        counts = largest_remainder(KIND_STARTS[kind], weights)
        starts |= {p.id: n for p, n in zip(pathways, counts, strict=True)}
    starts |= {p.id: HYBRID_STARTS for p in registry.pathways if p.kind == "hybrid"}
    return starts


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    """`total` shared in proportion to `weights` in whole numbers that add up to it."""
    if not weights or sum(weights) <= 0:
        return [0 for _ in weights]
    exact = [total * w / sum(weights) for w in weights]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


@cache
def day_pickers(year: int) -> dict[Mode, Picker[date]]:
    first = date(year, 1, 1)
    days = [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]
    return {
        mode: Picker(tuple((d, weights[d.weekday()] * MONTH_FACTOR[d.month - 1]) for d in days))
        for mode, weights in MODE_WEEKDAYS.items()
    }


HOUR_PICKERS: dict[Mode, Picker[int]] = {
    mode: Picker(tuple(enumerate(hours))) for mode, hours in MODE_HOURS.items()
}
CLIENT_HOUR = Picker(tuple(enumerate(CLIENT_HOURS)))
OFFICE_HOUR = Picker(tuple(enumerate(OFFICE_HOURS)))


def year_plan(
    registry: Registry, volumes: dict[str, int], year: int, seed: int, tz: ZoneInfo
) -> list[Enrolment]:
    """The enrolments that start in a local calendar year, in order of their start; `volumes`
    are the starts a year per pathway id (`yearly_starts`)."""
    tag = world_tag(seed)
    days = day_pickers(year)
    plan: list[Enrolment] = []
    for pathway in registry.pathways:
        rng = random.Random(f"kanava-pathways/{seed}/{year}/{pathway.id}")
        units = Picker(
            tuple(
                (u.id, UNIT_CONTACTS.get(u.id, DEFAULT_CONTACTS).per_weekday + 1.0)
                for u in registry.units
                if u.service_area == pathway.service_area
            )
        )
        modes = Picker(MODES[pathway.kind])
        for n in range(volumes[pathway.id]):
            mode = modes(rng)
            day = days[mode](rng)
            moment = local_moment(day, HOUR_PICKERS[mode](rng), rng, tz)
            plan.append(
                Enrolment(
                    moment=moment,
                    enrolment_id=f"e-{tag}-{pathway.id}-{year}-{n:04d}",
                    pathway=pathway,
                    mode=mode,
                    unit_id=units(rng) if units.values else None,
                    authenticated=rng.random() < AUTHENTICATED[pathway.kind],
                )
            )
    plan.sort(key=lambda enrolment: enrolment[:2])
    return plan


def local_moment(day: date, hour: int, rng: random.Random, tz: ZoneInfo) -> int:
    """Epoch milliseconds at a random moment of a local hour of a day."""
    return to_ms(datetime.combine(day, time(hour), tz)) + rng.randrange(_HOUR)


def course(enrolment: Enrolment, tz: ZoneInfo) -> list[Planned]:
    """The events of one enrolment, in time order: started, tasks, an end or none, feedback."""
    rng = random.Random(f"kanava-pathway/{enrolment.enrolment_id}")
    pathway = enrolment.pathway
    plan = COURSES.get(pathway.id, KIND_COURSES[pathway.kind])
    start = enrolment.moment
    events: list[Planned] = []

    def emit(moment: int, kind: type[Envelope], data: Data) -> None:
        source = f"simulator/{pathway.platform}"
        events.append(Planned(moment, start, kind, rng.getrandbits(128), data, source))

    emit(
        start,
        PathwayStarted,
        PathwayStartedData(
            enrolment_id=enrolment.enrolment_id,
            pathway_id=pathway.id,
            pathway_kind=pathway.kind,
            platform=pathway.platform,
            service_area=pathway.service_area,
            unit_id=enrolment.unit_id,
            start_mode=enrolment.mode,
            authenticated=enrolment.authenticated,
        ),
    )
    u = rng.random()
    outcome: Outcome = (
        "completed"
        if u < plan.completed
        else "discontinued"
        if u < plan.completed + plan.discontinued
        else "open"
    )
    spread = {"completed": plan.done, "discontinued": plan.dropout, "open": plan.active}[outcome]
    days = spread.draw(rng)
    office = outcome == "completed" and plan.ends_in_office
    until = later_than(start, start_day(start, tz), days, office, rng, tz)
    if outcome == "completed":
        done = len(plan.tasks)
    elif outcome == "discontinued":
        done = rng.randrange(len(plan.tasks))
    else:
        done = rng.randint(1, len(plan.tasks))
    moments = sorted(task_moment(start, until, rng, tz) for _ in range(done))
    last = start
    for task, moment in zip(plan.tasks, moments, strict=False):
        last = max(moment, last + 1)
        emit(
            last,
            PathwayTaskCompleted,
            PathwayTaskCompletedData(enrolment_id=enrolment.enrolment_id, task=task),
        )
    end = max(until, last + rng.randrange(_MINUTE, _HOUR))
    ended = EnrolmentData(enrolment_id=enrolment.enrolment_id)
    if outcome == "completed":
        emit(end, PathwayCompleted, ended)
    elif outcome == "discontinued":
        reason = Picker(plan.reasons)(rng)
        emit(
            end,
            PathwayDiscontinued,
            PathwayDiscontinuedData(enrolment_id=enrolment.enrolment_id, reason=reason),
        )
    if rng.random() < plan.feedback:
        up = rng.random() < THUMBS_UP[outcome]
        if outcome == "completed":
            moment = end + rng.randrange(5_000, 3 * _MINUTE)
        else:
            anchor = rng.choice([e.moment for e in events if e.kind is not PathwayDiscontinued])
            moment = anchor + rng.randrange(5_000, 3 * _MINUTE)
            if outcome == "discontinued" and moment >= end:
                moment = (anchor + end) // 2
        thumb: Literal["up", "down"] = "up" if up else "down"
        data = PathwayFeedbackData(enrolment_id=enrolment.enrolment_id, thumb=thumb)
        emit(moment, PathwayFeedback, data)
    events.sort(key=lambda planned: planned.moment)
    return events


def start_day(moment: int, tz: ZoneInfo) -> date:
    return from_ms(moment, tz).date()


def later_than(
    start: int, day: date, days: float, office: bool, rng: random.Random, tz: ZoneInfo
) -> int:
    """A moment about `days` after `start`, at an hour of the office or of the client."""
    hour = (OFFICE_HOUR if office else CLIENT_HOUR)(rng)
    day += timedelta(days=round(days))
    if office and day.weekday() >= 5:
        day += timedelta(days=7 - day.weekday())  # professionals mark it on Monday
    moment = local_moment(day, hour, rng, tz)
    return max(moment, start + rng.randrange(10 * _MINUTE, 2 * _HOUR))


def task_moment(start: int, until: int, rng: random.Random, tz: ZoneInfo) -> int:
    """A moment between `start` and `until`, at an hour the client does tasks when it can be."""
    moment = rng.randrange(start + 1, until)
    local = from_ms(moment, tz)
    timed = local_moment(local.date(), CLIENT_HOUR(rng), rng, tz)
    return timed if start < timed < until else moment
