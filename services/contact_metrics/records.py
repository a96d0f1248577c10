"""A contact as the patient-record system last described it. Pure, no I/O.

A contact id seen again with another event id is a correction: the record with the latest
(event time, event id) is the contact, whatever order the events arrive in. Missing optional
fields count under ''.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from services.common.events import ContactRecorded
from services.common.figures import local_day

DIMENSIONS = ("unit_id", "service_area", "channel", "contact_mode_code", "age_band", "municipality")
DailyKey = tuple[date, str, str, str, str, str, str]  # (day, *DIMENSIONS)


class ContactRecord(NamedTuple):
    """A named tuple: made for every event and every stored row, it costs a fifth of a frozen
    dataclass."""

    contact_id: str
    event_id: str
    time: datetime
    unit_id: str
    service_area: str
    channel: str
    contact_mode_code: str
    age_band: str
    municipality: str
    professional_group: str

    def supersedes(self, other: ContactRecord | None) -> bool:
        """A later record of the contact; the same event id again (even with another time, which
        event ids are not deduplicated by) changes nothing."""
        if other is None:
            return True
        return self.event_id != other.event_id and (self.time, self.event_id) > (
            other.time,
            other.event_id,
        )

    def daily_key(self, tz: ZoneInfo) -> DailyKey:
        return (
            local_day(self.time, tz),
            self.unit_id,
            self.service_area,
            self.channel,
            self.contact_mode_code,
            self.age_band,
            self.municipality,
        )


def from_event(event: ContactRecorded, service_area_of: dict[str, str]) -> ContactRecord:
    data = event.data
    return ContactRecord(  # in field order: positional arguments cost half of keywords
        data.contact_id,
        event.id,
        event.time,
        data.unit_id,
        data.service_area or service_area_of.get(data.unit_id, ""),
        data.channel,
        data.contact_mode_code or "",
        data.age_band or "",
        data.municipality or "",
        data.professional_group or "",
    )


def latest(records: Iterable[ContactRecord]) -> dict[str, ContactRecord]:
    found: dict[str, ContactRecord] = {}
    for record in records:
        if record.supersedes(found.get(record.contact_id)):
            found[record.contact_id] = record
    return found


def changes(
    candidates: Iterable[ContactRecord], stored: dict[str, ContactRecord], tz: ZoneInfo
) -> tuple[list[ContactRecord], Counter[DailyKey]]:
    """The records that replace what is stored, and what that does to the daily counts."""
    replacing = [r for r in candidates if r.supersedes(stored.get(r.contact_id))]
    counts: Counter[DailyKey] = Counter()
    for record in replacing:
        counts[record.daily_key(tz)] += 1
        before = stored.get(record.contact_id)
        if before is not None:
            counts[before.daily_key(tz)] -= 1
    return replacing, Counter({key: n for key, n in counts.items() if n})
