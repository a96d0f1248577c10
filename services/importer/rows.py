"""What every source shares: a bad row, reading a row's mapped fields and times, and an event
of a row with a deterministic id. The mapping is only a type here, so that mapping.py can
register the sources that use this."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from services.common.events import Envelope, InvalidEvent, Stream

if TYPE_CHECKING:
    from services.importer.mapping import Mapping

NAMESPACE = uuid.UUID("8d0f2b6e-0d77-4d56-9a8e-3f2f1c9b7a10")
EVENT_SOURCE = "kanava/import"
Row = dict[str, str]
E = TypeVar("E", bound=Envelope)


class BadRow(Exception):
    """What is wrong with a row, for its line in the error file."""


@dataclass(frozen=True)
class Source:
    """A kind of export (a mapping's `source`): its fields, those that need a column, the
    stream its events go to, and its row's events (given the recipients' hashing key). With
    `combine`, the events of the whole file are combined before any is sent."""

    name: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    stream: Stream[Envelope]
    events: Callable[[Mapping, Row, str], list[Envelope]]
    combine: Callable[[Mapping, list[Envelope]], list[Envelope]] | None = None


def reader(mapping: Mapping, row: Row) -> Callable[[str], str]:
    """The text of a field of the row ("" when unmapped or empty), stripped."""

    def field(name: str) -> str:
        column = mapping.columns.get(name)
        return (row.get(column) or "").strip() if column else ""

    return field


def time_of(mapping: Mapping, name: str, text: str) -> datetime | None:
    if not text:
        return None
    try:
        return mapping.time(text)
    except ValueError:
        expected = mapping.time_format or "ISO 8601"
        raise BadRow(f"{name}: {text!r} is not a time ({expected})") from None


def in_order(times: list[datetime | None], names: str) -> None:
    known = [t for t in times if t is not None]
    if known != sorted(known):
        raise BadRow(f"the times are not in order: {names}")


def event(
    stream: Stream[E],
    mapping: Mapping,
    story: str,
    kind: str,
    when: datetime,
    data: dict[str, Any],
) -> E:
    """The event `kind` of a story (a chat, survey or enrolment) of the export, checked as the
    services check it; its id is the same whenever the same row is imported."""
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid5(NAMESPACE, f"{mapping.name}|{story}|{kind}")),
        "source": EVENT_SOURCE,
        "type": kind,
        "time": when.isoformat(),
        "data": data,
    }
    try:
        return stream.parse(json.dumps(body), datetime.now(UTC), timedelta(hours=1))
    except InvalidEvent as exc:
        raise BadRow(f"{kind}: {exc.reason}: {exc.detail}") from None
