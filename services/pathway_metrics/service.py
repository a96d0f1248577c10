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

from services.common.consumer import Consumed
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
class _Pending:
    deltas: dict[Any, int] = field(default_factory=dict)
    old: list[Enrolment] = field(default_factory=list)
    new: list[Enrolment] = field(default_factory=list)
    partitions: dict[str, int] = field(default_factory=dict)


class PathwayMetrics:
    def __init__(self, registry: Registry, tz: ZoneInfo) -> None:
        self.tz = tz
        self.defaults = PathwayDefaults(
            {p.id: (p.kind, p.platform, p.service_area) for p in registry.pathways}
        )
        self.active: dict[int, Counter[str]] = {}
        self._pending = _Pending()

    async def apply(self, conn: AsyncConnection, events: Sequence[Consumed]) -> None:
        pending = _Pending()
        batch: list[tuple[str, PathwayFact]] = []
        for consumed in events:
            enrolment = consumed.event.data.enrolment_id
            batch.append((enrolment, to_fact(consumed.event)))
            pending.partitions[enrolment] = consumed.partition
        stored = await repository.load_facts(conn, pending.partitions)
        pending.old = [self._derive(e, stored.get(e, [])) for e in pending.partitions]
        for enrolment, fact in batch:
            stored.setdefault(enrolment, []).append(fact)
        pending.new = [self._derive(e, stored[e]) for e in pending.partitions]
        pending.deltas = difference(figures(pending.new, self.tz), figures(pending.old, self.tz))
        await repository.insert_facts(conn, batch)
        await repository.add_daily(conn, pending.deltas)
        await repository.replace_enrolments(conn, pending.new, pending.partitions, self.tz)
        self._pending = pending

    def _derive(self, enrolment: str, facts: list[PathwayFact]) -> Enrolment:
        return derive(enrolment, facts, self.defaults)

    def committed(self, events: Sequence[Consumed]) -> None:
        pending, self._pending = self._pending, _Pending()
        exports.count(pending.deltas)
        for before, after in zip(pending.old, pending.new, strict=True):
            counts = self.active.setdefault(pending.partitions[after.enrolment_id], Counter())
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


def to_fact(event: Any) -> PathwayFact:
    get = event.data.__dict__.get  # plain dict reads: the event types have different fields
    return PathwayFact(  # in field order: positional arguments cost half of keywords
        event.id,
        event.type,
        event.time,
        get("pathway_id"),
        get("pathway_kind"),
        get("platform"),
        get("service_area"),
        get("unit_id"),
        get("start_mode"),
        get("authenticated"),
        get("task"),
        get("reason"),
        get("thumb"),
    )
