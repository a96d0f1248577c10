"""How pathway events change pathway_metrics' state (docs/events.md, docs/metrics.md).

Per batch: every touched enrolment is derived from its stored events before and after the
batch's are added; the per-day figures get new - old, and the active counts of the owning
partition follow. Events are keyed by enrolment, so one partition holds an enrolment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.consumer import Consumed, Domain
from services.common.events import (
    PathwayCompleted,
    PathwayDiscontinued,
    PathwayEvent,
    PathwayFeedback,
    PathwayStarted,
    PathwayTaskCompleted,
)
from services.common.figures import difference
from services.common.registry import Registry
from services.pathway_metrics import exports, repository
from services.pathway_metrics.enrolments import (
    Enrolment,
    PathwayDefaults,
    PathwayFact,
    derive,
    figures,
)


@dataclass
class Changes:
    """What a batch changed, for the exports and the active counts once its transaction
    commits."""

    deltas: dict[Any, int] = field(default_factory=dict)
    old: list[Enrolment] = field(default_factory=list)
    new: list[Enrolment] = field(default_factory=list)
    partitions: dict[str, int] = field(default_factory=dict)


class PathwayMetrics(Domain[PathwayEvent, Changes]):
    def __init__(self, registry: Registry, tz: ZoneInfo) -> None:
        self.tz = tz
        self.defaults = PathwayDefaults(
            {p.id: (p.kind, p.platform, p.service_area) for p in registry.pathways}
        )
        self.active: dict[int, Counter[str]] = {}

    async def apply(
        self, conn: AsyncConnection, events: Sequence[Consumed[PathwayEvent]]
    ) -> Changes:
        changes = Changes()
        batch: list[tuple[str, PathwayFact]] = []
        for consumed in events:
            enrolment = consumed.event.data.enrolment_id
            batch.append((enrolment, to_fact(consumed.event)))
            changes.partitions[enrolment] = consumed.partition
        stored = await repository.load_facts(conn, changes.partitions)
        changes.old = [self._derive(e, stored.get(e, [])) for e in changes.partitions]
        for enrolment, fact in batch:
            stored.setdefault(enrolment, []).append(fact)
        changes.new = [self._derive(e, stored[e]) for e in changes.partitions]
        changes.deltas = difference(figures(changes.new, self.tz), figures(changes.old, self.tz))
        await repository.insert_facts(conn, batch)
        await repository.add_daily(conn, changes.deltas)
        await repository.replace_enrolments(conn, changes.new, changes.partitions, self.tz)
        return changes

    def _derive(self, enrolment: str, facts: list[PathwayFact]) -> Enrolment:
        return derive(enrolment, facts, self.defaults)

    def committed(self, changes: Changes) -> None:
        exports.count(changes.deltas)
        for before, after in zip(changes.old, changes.new, strict=True):
            counts = self.active.setdefault(changes.partitions[after.enrolment_id], Counter())
            counts[before.pathway_id] -= before.active
            counts[after.pathway_id] += after.active

    async def restore(self, conn: AsyncConnection, partitions: Collection[int]) -> None:
        for partition in partitions:
            self.active[partition] = Counter()
        for partition, pathway, n in await repository.active_by_partition(conn, partitions):
            self.active[partition][pathway] = n

    def release(self, partitions: Collection[int]) -> None:
        for partition in partitions:
            self.active.pop(partition, None)


def to_fact(event: PathwayEvent) -> PathwayFact:
    match event:
        case PathwayStarted(data=data):
            return PathwayFact(  # in field order: positional arguments cost half of keywords
                event.id,
                event.type,
                event.time,
                data.pathway_id,
                data.pathway_kind,
                data.platform,
                data.service_area,
                data.unit_id,
                data.start_mode,
                data.authenticated,
            )
        case PathwayTaskCompleted(data=data):
            return PathwayFact(event.id, event.type, event.time, task=data.task)
        case PathwayDiscontinued(data=data):
            return PathwayFact(event.id, event.type, event.time, reason=data.reason)
        case PathwayFeedback(data=data):
            return PathwayFact(event.id, event.type, event.time, thumb=data.thumb)
        case PathwayCompleted():
            return PathwayFact(event.id, event.type, event.time)
