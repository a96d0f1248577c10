"""A row of a monthly contact-count export (contacts of a unit in a channel and month) as a
`contact.month_counted` (docs/events.md).

A row has the unit, the channel as the export names it (mapped to Kanava's channels under
`channels`), the month (`month_format`, `%Y-%m` by default) and the number of contacts; the
service area is optional. The rows of a file that fall on one unit, channel and month add up
(an export may count finer than Kanava's channels), so the file's events are combined before
sending: one count per unit, channel and month, its id derived from the export's name, the
key and the count, its time the import's. Sending the same counts again changes nothing; a
corrected count replaces the one before (docs/metrics.md, "Monthly contact counts").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, get_args

from services.common.events import CONTACT, Channel, Envelope
from services.importer.rows import BadRow, Row, Source, event, reader

if TYPE_CHECKING:
    from services.importer.mapping import Mapping

FIELDS = ("unit", "channel", "month", "contacts", "service_area")
CHANNELS: tuple[str, ...] = get_args(Channel)
KIND = "contact.month_counted"


def count_events(mapping: Mapping, row: Row, _key: str = "") -> list[Envelope]:
    """The row's count; BadRow says why there is none."""
    field = reader(mapping, row)
    unit, named = field("unit"), field("channel")
    if not unit:
        raise BadRow("no unit")
    channel = mapping.channels.get(named, named)
    if channel not in CHANNELS:
        raise BadRow(
            f"channel {named!r} is none of Kanava's ({', '.join(CHANNELS)}): map it under channels"
        )
    data: dict[str, Any] = {
        "export": mapping.name,
        "unit_id": mapping.units.get(unit, unit),
        "channel": channel,
        "month": _month(mapping, field("month")),
        "contacts": _contacts(field("contacts")),
    }
    if area := field("service_area"):
        data["service_area"] = area
    return [_counted(mapping, data, datetime.now(UTC))]


def combined(mapping: Mapping, events: list[Envelope]) -> list[Envelope]:
    """One count per unit, channel and month: the file's counts of each added up (the first
    service area given stays), all at the time of the import."""
    sums: dict[tuple[str, str, str], dict[str, Any]] = {}
    for counted in events:
        data = counted.data.model_dump(exclude_none=True)
        key = (data["unit_id"], data["channel"], data["month"])
        if key in sums:
            sums[key]["contacts"] += data["contacts"]
        else:
            sums[key] = data
    now = datetime.now(UTC)
    return [_counted(mapping, data, now) for data in sums.values()]


def _counted(mapping: Mapping, data: dict[str, Any], when: datetime) -> Envelope:
    story = "|".join(str(data[k]) for k in ("unit_id", "channel", "month", "contacts"))
    counted: Envelope = event(CONTACT, mapping, story, KIND, when, data)
    return counted


def _month(mapping: Mapping, text: str) -> str:
    try:
        return datetime.strptime(text, mapping.month_format).strftime("%Y-%m")
    except ValueError:
        raise BadRow(f"month: {text!r} is not a month ({mapping.month_format})") from None


def _contacts(text: str) -> int:
    digits = "".join(text.split())  # "1 234", with any spaces between the thousands
    if not digits.isascii() or not digits.isdigit():
        raise BadRow(f"contacts: {text!r} is not a whole number ≥ 0")
    return int(digits)


SOURCE = Source(
    "contact_counts",
    FIELDS,
    ("unit", "channel", "month", "contacts"),
    CONTACT,
    count_events,
    combined,
)
