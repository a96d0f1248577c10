"""What an enrolment's events mean, derived from all of them in event-time order. Pure, no I/O.

- The first ``pathway.started`` (by time, then event id) gives the pathway and its attributes;
  missing kind, platform and service area come from the registry; without a start the
  enrolment counts under pathway '' until its start arrives.
- The first ``pathway.completed`` or ``pathway.discontinued`` ends it; later ends are ignored.
- Every ``pathway.task_completed`` and ``pathway.feedback`` counts, on its own day.
- Active: started and not ended.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

from services.common.figures import local_day

STARTED, TASK, COMPLETED, DISCONTINUED, FEEDBACK = (
    "pathway.started",
    "pathway.task_completed",
    "pathway.completed",
    "pathway.discontinued",
    "pathway.feedback",
)
MEASURES = ("starts", "completions", "discontinued", "tasks_completed", "thumbs_up", "thumbs_down")
Attributes = tuple[str, str, str, str, str, str]  # pathway, kind, platform, area, unit, mode
PathwayFigures = Counter[tuple[date, str, str, str, str, str, str, str]]  # (day, *attrs, measure)
NO_ATTRIBUTES: Attributes = ("", "", "", "", "", "")


class PathwayFact(NamedTuple):
    """One stored event of an enrolment (a named tuple: made for every event and every stored
    row, it costs a fifth of a frozen dataclass)."""

    event_id: str
    type: str
    time: datetime
    pathway_id: str | None = None
    kind: str | None = None
    platform: str | None = None
    service_area: str | None = None
    unit_id: str | None = None
    start_mode: str | None = None
    authenticated: bool | None = None
    task: str | None = None
    reason: str | None = None
    thumb: str | None = None


class Enrolment(NamedTuple):
    enrolment_id: str
    attributes: Attributes = NO_ATTRIBUTES
    started_at: datetime | None = None
    ended_at: datetime | None = None
    end_kind: str | None = None
    tasks: tuple[datetime, ...] = ()
    thumbs: tuple[tuple[datetime, str], ...] = ()

    @property
    def pathway_id(self) -> str:
        return self.attributes[0]

    @property
    def active(self) -> bool:
        return self.started_at is not None and self.ended_at is None


@dataclass(frozen=True, slots=True)
class PathwayDefaults:
    """What the registry says of a pathway: (kind, platform, service area)."""

    by_pathway: Mapping[str, tuple[str, str, str]]


_ORDER = attrgetter("time", "event_id")
_ENDS = (COMPLETED, DISCONTINUED)


def derive(enrolment_id: str, facts: Iterable[PathwayFact], defaults: PathwayDefaults) -> Enrolment:
    """One pass over the facts in (time, event id) order, each event id once."""
    start: PathwayFact | None = None
    end: PathwayFact | None = None
    tasks: list[datetime] = []
    thumbs: list[tuple[datetime, str]] = []
    for f in sorted({f.event_id: f for f in facts}.values(), key=_ORDER):
        kind = f.type
        if kind == TASK:
            tasks.append(f.time)
        elif kind == FEEDBACK:
            thumbs.append((f.time, f.thumb or ""))
        elif kind == STARTED:
            if start is None:
                start = f
        elif kind in _ENDS and end is None:
            end = f
    return Enrolment(
        enrolment_id,
        _attributes(start, defaults) if start else NO_ATTRIBUTES,
        start.time if start else None,
        end.time if end else None,
        None if end is None else ("completed" if end.type == COMPLETED else "discontinued"),
        tuple(tasks),
        tuple(thumbs),
    )


def _attributes(start: PathwayFact, defaults: PathwayDefaults) -> Attributes:
    pathway = start.pathway_id or ""
    kind, platform, area = defaults.by_pathway.get(pathway, ("", "", ""))
    return (
        pathway,
        start.kind or kind,
        start.platform or platform,
        start.service_area or area,
        start.unit_id or "",
        start.start_mode or "",
    )


def figures(enrolments: Iterable[Enrolment], tz: ZoneInfo) -> PathwayFigures:
    """What the enrolments add to the per-day figures."""
    counts: PathwayFigures = Counter()
    for e in enrolments:
        attrs = e.attributes
        if e.started_at is not None:
            counts[(local_day(e.started_at, tz), *attrs, "starts")] += 1
        if e.ended_at is not None:
            measure = "completions" if e.end_kind == "completed" else "discontinued"
            counts[(local_day(e.ended_at, tz), *attrs, measure)] += 1
        for moment in e.tasks:
            counts[(local_day(moment, tz), *attrs, "tasks_completed")] += 1
        for moment, thumb in e.thumbs:
            if thumb in ("up", "down"):
                counts[(local_day(moment, tz), *attrs, f"thumbs_{thumb}")] += 1
    return counts
