"""Pathway events for the benchmark: the simulated backlog with what it must add up to, and new
enrolments at a steady pace."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bench.events import Backlog, Message, Timed, backlog, encoded, own_message
from services.common.events import PATHWAY
from services.common.registry import Registry
from services.simulator.pathways import simulate_pathways

SOURCE = "bench/pathway_metrics"
STARTED, TASK, COMPLETED, DISCONTINUED, FEEDBACK = (
    "pathway.started",
    "pathway.task_completed",
    "pathway.completed",
    "pathway.discontinued",
    "pathway.feedback",
)
MEASURES = ("starts", "completions", "discontinued", "tasks_completed", "thumbs_up", "thumbs_down")
DayFigures = Counter[tuple[date, str, str]]
"""(local day, pathway, measure) -> count."""
Seen = tuple[datetime, str, str, str]
"""(time, event id, type, pathway id of a start or thumb of a feedback)."""


@dataclass
class Expected:
    """What the backlog must add up to, counted from the produced events independently of the
    service: the rules of docs/events.md written out again (the first start by time then event
    id gives the pathway, '' without one; the first end counts; every task and thumb counts)."""

    types: Counter[str] = field(default_factory=Counter)
    """Events by type."""
    enrolments: dict[str, list[Seen]] = field(default_factory=dict)

    def add(self, enrolment: str, seen: Seen) -> None:
        self.types[seen[2]] += 1
        self.enrolments.setdefault(enrolment, []).append(seen)

    def figures(self, tz: ZoneInfo) -> DayFigures:
        counts: DayFigures = Counter()
        for events in self.enrolments.values():
            ordered = sorted(events)
            starts = [e for e in ordered if e[2] == STARTED]
            ends = [e for e in ordered if e[2] in (COMPLETED, DISCONTINUED)]
            pathway = starts[0][3] if starts else ""

            def count(moment: datetime, measure: str, pathway: str = pathway) -> None:
                counts[(moment.astimezone(tz).date(), pathway, measure)] += 1

            if starts:
                count(starts[0][0], "starts")
            if ends:
                count(ends[0][0], "completions" if ends[0][2] == COMPLETED else "discontinued")
            for moment, _, kind, detail in ordered:
                if kind == TASK:
                    count(moment, "tasks_completed")
                elif kind == FEEDBACK and detail in ("up", "down"):
                    count(moment, f"thumbs_{detail}")
        return counts

    def active(self) -> Counter[str]:
        """Enrolments started and not ended, by pathway."""
        active: Counter[str] = Counter()
        for events in self.enrolments.values():
            kinds = {e[2] for e in events}
            if STARTED in kinds and not kinds & {COMPLETED, DISCONTINUED}:
                active[min(e for e in events if e[2] == STARTED)[3]] += 1
        return active

    def without_start(self) -> int:
        """Enrolments whose start fell before the backlog (they count under pathway '')."""
        return sum(1 for events in self.enrolments.values() if all(e[2] != STARTED for e in events))


def pathway_backlog(
    registry: Registry, tz: ZoneInfo, at_least: int, days: int, end: datetime
) -> tuple[Backlog, Expected]:
    """`simulate_pathways` of the registry, keyed by enrolment as docs/events.md says. Each seed is
    another world: its enrolment ids carry the seed's tag and its event ids come from each
    enrolment's own generator, so no two seeds share an id."""
    expected = Expected()

    def simulate(seed: int, start: datetime, end: datetime) -> Iterator[Timed]:
        for event in simulate_pathways(registry, start, end, seed, tz):
            expected.add(*_seen(event))
            yield encoded(PATHWAY, event)

    return backlog(simulate, at_least, days, end), expected


def _seen(event: Any) -> tuple[str, Seen]:
    """(enrolment, what the count needs of the event)."""
    data = event.data
    detail = getattr(data, "pathway_id", None) or getattr(data, "thumb", None) or ""
    return data.enrolment_id, (event.time, event.id, event.type, detail)


@dataclass(frozen=True)
class LivePathways:
    """New enrolments at a steady pace, pathway after pathway: each is started, has a task
    completed `task_lag` steps later and ends `end_lag` steps later (every fourth
    discontinued, the others completed with a thumbs up); a step starts one enrolment."""

    prefix: str
    pathways: Sequence[str]
    task_lag: int = 1000
    end_lag: int = 3000

    def plan(self) -> Iterator[tuple[str, int]]:
        """(event type, enrolment number), endlessly."""
        step = 0
        while True:
            yield STARTED, step
            if step >= self.task_lag:
                yield TASK, step - self.task_lag
            if step >= self.end_lag:
                number = step - self.end_lag
                if number % 4 == 3:
                    yield DISCONTINUED, number
                else:
                    yield COMPLETED, number
                    yield FEEDBACK, number
            step += 1

    @staticmethod
    def events_per_enrolment() -> float:
        return 3 + 3 / 4

    def message(self, kind: str, number: int, at: datetime) -> Message:
        enrolment = f"{self.prefix}-{number}"
        data: dict[str, Any] = {"enrolment_id": enrolment}
        if kind == STARTED:
            data |= {"pathway_id": self.pathways[number % len(self.pathways)]}
            data |= {"start_mode": "self", "authenticated": True}
        elif kind == TASK:
            data |= {"task": "tietoisku"}
        elif kind == DISCONTINUED:
            data |= {"reason": "no_longer_needed"}
        elif kind == FEEDBACK:
            data |= {"thumb": "up"}
        return own_message(SOURCE, kind, enrolment, at, data)
