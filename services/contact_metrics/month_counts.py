"""Contacts counted per unit, channel and month elsewhere (`contact.month_counted`). Pure, no I/O.

A count is kept under its natural key (month, unit, channel, export): a count sent again for
the same key replaces the one before, never adds to it. The count with the latest (event time,
event id) is the one kept, whatever order the counts arrive in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import NamedTuple

from services.common.events import ContactMonthCounted
from services.common.months import Month

CountKey = tuple[date, str, str, str]  # (month's first day, unit_id, channel, export)


class MonthCount(NamedTuple):
    """In the column order of contact_month_counts."""

    month: date
    unit_id: str
    channel: str
    export: str
    service_area: str
    contacts: int
    event_id: str
    time: datetime

    @property
    def key(self) -> CountKey:
        return (self.month, self.unit_id, self.channel, self.export)


def from_event(event: ContactMonthCounted, service_area_of: dict[str, str]) -> MonthCount:
    data = event.data
    return MonthCount(
        Month.parse(data.month).first,
        data.unit_id,
        data.channel,
        data.export,
        data.service_area or service_area_of.get(data.unit_id, ""),
        data.contacts,
        event.id,
        event.time,
    )


def latest(counts: Iterable[MonthCount]) -> list[MonthCount]:
    """The latest count of each key, in key order (the order every writer locks rows in)."""
    found: dict[CountKey, MonthCount] = {}
    for count in counts:
        before = found.get(count.key)
        if before is None or (count.time, count.event_id) > (before.time, before.event_id):
            found[count.key] = count
    return [found[key] for key in sorted(found)]
