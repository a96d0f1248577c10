"""Contact events for the benchmark: the simulated backlog, with corrections, and what it must
add up to; new contacts at a steady pace."""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

from bench.events import Backlog, Message, Timed, backlog, encoded, own_message
from services.common.events import CONTACT, Channel, Envelope
from services.common.registry import Registry
from services.simulator.contacts import MODE_CODES, simulate_contacts

SOURCE = "bench/contact_metrics"
RECORDED = "contact.recorded"
CORRECTION = "correction"
"""A plan's name for a `contact.recorded` that corrects an earlier contact."""
CHANNELS: tuple[Channel, ...] = get_args(Channel)
DayFigures = Counter[tuple[date, str, str]]
"""(local day, unit, channel) -> contacts."""
Version = tuple[datetime, str, str, str]
"""(time, event id, unit, channel) of one event of a contact."""


@dataclass
class Expected:
    """What the backlog must add up to, counted from the produced events independently of the
    service: each contact is its version with the latest (time, event id)."""

    events: int = 0
    corrections: int = 0
    latest: dict[str, Version] = field(default_factory=dict)

    def add(self, contact: str, version: Version) -> None:
        self.events += 1
        before = self.latest.get(contact)
        if before is None or version[:2] > before[:2]:
            self.latest[contact] = version

    def figures(self, tz: ZoneInfo) -> DayFigures:
        return Counter(
            (moment.astimezone(tz).date(), unit, channel)
            for moment, _, unit, channel in self.latest.values()
        )


def contact_backlog(
    registry: Registry,
    tz: ZoneInfo,
    at_least: int,
    days: int,
    end: datetime,
    corrections: float,
) -> tuple[Backlog, Expected]:
    """`simulate_contacts` of the registry, keyed by contact as docs/events.md says (each seed's ids
    carry the seed's tag), plus a share `corrections` of the contacts recorded again 1 to 48
    hours later (another event id, another channel), as the patient-record system corrects
    them; corrections falling after `end` are left out."""
    expected = Expected()

    def simulate(seed: int, start: datetime, end: datetime) -> Iterator[Timed]:
        rng = random.Random(f"bench-contact-corrections/{seed}")
        later: list[tuple[datetime, int, Envelope]] = []
        order = itertools.count()
        for event in simulate_contacts(registry, start, end, seed, tz):
            while later and later[0][0] <= event.time:
                yield _counted(expected, heapq.heappop(later)[2])
            yield _counted(expected, event)
            if rng.random() < corrections:
                fixed = _corrected(event, rng)
                if fixed.time < end:
                    heapq.heappush(later, (fixed.time, next(order), fixed))
        while later:
            yield _counted(expected, heapq.heappop(later)[2])

    return backlog(simulate, at_least, days, end), expected


def _counted(expected: Expected, event: Any) -> Timed:
    data = event.data
    version = (event.time, event.id, data.unit_id, data.channel)
    expected.add(data.contact_id, version)
    if event.source == SOURCE:
        expected.corrections += 1
    return encoded(CONTACT, event)


def _corrected(event: Any, rng: random.Random) -> Any:
    channel = rng.choice([c for c in CHANNELS if c != event.data.channel])
    data = event.data.model_copy(
        update={"channel": channel, "contact_mode_code": MODE_CODES[channel]}
    )
    return event.model_copy(
        update={
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "source": SOURCE,
            "time": event.time + timedelta(hours=rng.uniform(1.0, 48.0)),
            "data": data,
        }
    )


@dataclass(frozen=True)
class LiveRecords:
    """New contacts at a steady pace, unit after unit and channel after channel; every
    `every`-th contact is corrected (recorded again, another channel) `lag` steps later."""

    prefix: str
    units: Sequence[tuple[str, str]]
    """(unit id, service area)."""
    lag: int = 2000
    every: int = 20

    def plan(self) -> Iterator[tuple[str, int]]:
        """(`contact.recorded` or `correction`, contact number), endlessly."""
        step = 0
        while True:
            yield RECORDED, step
            if step >= self.lag and (step - self.lag) % self.every == 0:
                yield CORRECTION, step - self.lag
            step += 1

    def message(self, kind: str, number: int, at: datetime) -> Message:
        contact = f"{self.prefix}-{number}"
        unit, area = self.units[number % len(self.units)]
        channel = CHANNELS[(number + (kind == CORRECTION)) % len(CHANNELS)]
        data: dict[str, Any] = {"contact_id": contact, "unit_id": unit, "channel": channel}
        data |= {"service_area": area, "age_band": "45-64", "municipality": "kotka"}
        data |= {"professional_group": "nurse"}
        if MODE_CODES[channel] is not None:
            data["contact_mode_code"] = MODE_CODES[channel]
        return own_message(SOURCE, RECORDED, contact, at, data)
