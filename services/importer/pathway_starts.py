"""A row of a care-pathway export (one start a row) as the pathway events of docs/events.md.

A row has the enrolment's id, the pathway and when it started; the unit (self-care pathways
have none), the pathway's kind, platform, service area, how it was started and whether the
client was authenticated are optional, and so is how it ended: when it was completed or
discontinued. Its events: `pathway.started`, then `pathway.completed` or
`pathway.discontinued` when the row says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.common.events import PATHWAY, Envelope
from services.importer.rows import BadRow, Row, Source, event, in_order, reader, time_of

if TYPE_CHECKING:
    from services.importer.mapping import Mapping

CODES = ("pathway_kind", "platform", "service_area", "start_mode")
"""Optional fields of `pathway.started` taken as they are written."""
FIELDS = (
    "enrolment_id",
    "pathway",
    "unit",
    "started",
    *CODES,
    "authenticated",
    "completed",
    "discontinued",
)


def pathway_events(mapping: Mapping, row: Row, _key: str = "") -> list[Envelope]:
    """The row's events, in time order; BadRow says why there are none."""
    field = reader(mapping, row)
    for name, what in (("enrolment_id", "enrolment id"), ("pathway", "pathway")):
        if not field(name):
            raise BadRow(f"no {what}")
    started = time_of(mapping, "started", field("started"))
    if started is None:
        raise BadRow("a start needs its time")
    story = f"{mapping.name}:{field('enrolment_id')}"
    steps: list[tuple[str, datetime, dict[str, Any]]] = [
        ("pathway.started", started, _started(mapping, row))
    ]
    ends = [
        (kind, when)
        for kind in ("completed", "discontinued")
        if (when := time_of(mapping, kind, field(kind))) is not None
    ]
    if len(ends) > 1:
        raise BadRow("an enrolment ends once: completed or discontinued")
    for kind, when in ends:
        in_order([started, when], f"started ≤ {kind}")
        steps.append((f"pathway.{kind}", when, {}))
    return [
        event(PATHWAY, mapping, story, kind, when, {"enrolment_id": story, **data})
        for kind, when, data in steps
    ]


def _started(mapping: Mapping, row: Row) -> dict[str, Any]:
    field = reader(mapping, row)
    pathway, unit = field("pathway"), field("unit")
    data: dict[str, Any] = {"pathway_id": mapping.pathways.get(pathway, pathway)}
    if unit:
        data["unit_id"] = mapping.units.get(unit, unit)
    data |= {name: text for name in CODES if (text := field(name))}
    if authenticated := field("authenticated"):
        data["authenticated"] = mapping.is_yes(authenticated)
    return data


SOURCE = Source(
    "pathway_starts",
    FIELDS,
    ("enrolment_id", "pathway", "started"),
    PATHWAY,
    pathway_events,
)
