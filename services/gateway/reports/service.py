"""The monthly report (docs/api.md): per service area, unit, queue and pathway, the month against
the previous month and the same month a year before, with targets, definitions and a 13-month
trend.

Every figure comes from the statistics endpoints' own queries and row builders, read by queue,
unit and pathway and summed up here, so a unit's or a service area's figures equal what
`/v1/chat/stats`, `/v1/feedback/nps`, `/v1/pathways/stats` and `/v1/contacts/digital-share`
return for it with `granularity=month`. Nothing depends on the clock but `generated_at`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, TypeVar

from services.common.registry import Registry
from services.common.tokens import Principal
from services.gateway.chat.endpoints import stats_row as chat_row
from services.gateway.contacts.endpoints import share_row
from services.gateway.context import GatewayContext
from services.gateway.feedback.endpoints import nps_row
from services.gateway.feedback.schemas import NpsFigures
from services.gateway.pathways.endpoints import stats_row as pathway_row
from services.gateway.periods import Selection
from services.gateway.reports import definitions, repository
from services.gateway.reports.schemas import (
    BotComparison,
    BotFigures,
    ChatComparison,
    ChatFigures,
    Definition,
    Definitions,
    Metadata,
    MonthlyReport,
    NpsComparison,
    PathwayComparison,
    PathwayFigures,
    QueueReport,
    Scope,
    ServiceAreaReport,
    ShareComparison,
    ShareFigures,
    Targets,
    TotalReport,
    TrendPoint,
    UnitReport,
)
from services.gateway.scope import visible_queues, visible_units

MONTH_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"
TREND_MONTHS = 13  # the month and the twelve before it
NOT_REGISTERED = "Not in the registry"
GENERATOR = "kanava gateway, services/gateway/reports"
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
T = TypeVar("T")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        if not re.fullmatch(MONTH_PATTERN, text):
            raise ValueError(f"{text!r} is not a month YYYY-MM")
        return cls(int(text[:4]), int(text[5:]))

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def name(self) -> str:
        return f"{_MONTH_NAMES[self.month - 1]} {self.year}"

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return self.shift(1).first - timedelta(days=1)


def month_name(label: str) -> str:
    """`2025-10` → `October 2025`."""
    return Month.parse(label).name


async def build_report(
    ctx: GatewayContext,
    who: Principal,
    month: Month,
    unit_id: str | None = None,
    service_area: str | None = None,
    now: datetime | None = None,
) -> MonthlyReport:
    """The report of `month` as `who` may see it, optionally of one unit or service area."""
    asked = Selection(month.first, month.last, "month", unit_id, service_area, None, None)
    units = visible_units(ctx, who, asked)
    queues = visible_queues(ctx, who, asked)
    window = Selection(month.shift(1 - TREND_MONTHS).first, month.last, "month", *[None] * 4)
    stored = await repository.read(ctx.engine, window, units, queues, queues is None)
    assembly = _Assembly(ctx, stored, month)
    return assembly.report(units, queues, _scope(ctx, who, units, unit_id, service_area), now)


def _scope(
    ctx: GatewayContext,
    who: Principal,
    units: list[str] | None,
    unit_id: str | None,
    service_area: str | None,
) -> Scope:
    if units is None:
        return Scope(limited=False, units=None, description="All units of the county")
    names = [_unit_name(ctx.registry, u) for u in units]
    if unit_id:
        why = f"unit {unit_id}"
    elif service_area:
        area = next((a.name for a in ctx.registry.service_areas if a.id == service_area), None)
        why = f"service area {area or service_area}"
    else:
        why = "the units this token may read"
    listed = ", ".join(names) if names else "none"
    return Scope(limited=True, units=units, description=f"{why[0].upper()}{why[1:]}: {listed}")


def _unit_name(registry: Registry, unit_id: str) -> str:
    unit = registry.unit(unit_id)
    return unit.name if unit else unit_id


def _summed(rows: Sequence[Any], period: str, **extra: Any) -> SimpleNamespace:
    """One row whose integer columns are the sums of `rows` (all of one period): a unit or
    service area sums its queues, units or pathways."""
    columns = [c for c in rows[0]._fields if c not in ("period", "key", "queues")]
    sums = {c: sum(getattr(r, c) for r in rows) for c in columns}
    return SimpleNamespace(period=period, key=None, **sums, **extra)


def _comparison(figures: Sequence[T | None]) -> tuple[T | None, T | None, T | None] | None:
    month, previous, year_before = figures
    if month is None and previous is None and year_before is None:
        return None
    return month, previous, year_before


class _Assembly:
    def __init__(self, ctx: GatewayContext, stored: repository.Stored, month: Month) -> None:
        self.ctx = ctx
        self.registry = ctx.registry
        self.month = month
        self.periods = (month.label, month.shift(-1).label, month.shift(-12).label)
        self.trend_months = [month.shift(n - TREND_MONTHS + 1).label for n in range(TREND_MONTHS)]
        self.bots = stored.bots
        self.chat = {(r.period, r.key): r for r in stored.chat}
        self.nps = {(r.period, r.key): r for r in stored.nps}
        self.pathways = {(r.period, r.key): r for r in stored.pathways}
        self.active = stored.active
        self.contacts = stored.contacts
        self.min_responses = ctx.settings.min_responses
        self.digital = ctx.settings.digital_channels

    # --- figures of one period, summed over queues / units / pathways -----------------------

    def chat_figures(self, period: str, queues: Iterable[str]) -> ChatFigures | None:
        rows = [self.chat[(period, q)] for q in queues if (period, q) in self.chat]
        if not rows:
            return None
        seen = sorted({q for r in rows for q in r.queues})
        row = chat_row(self.ctx, _summed(rows, period, queues=seen), {}, {}, False)
        return ChatFigures.model_validate(row.model_dump(include=set(ChatFigures.model_fields)))

    def nps_figures(self, period: str, units: Iterable[str | None]) -> NpsFigures | None:
        rows = [self.nps[(period, u)] for u in units if (period, u) in self.nps]
        if not rows:
            return None
        row = nps_row(_summed(rows, period), self.min_responses, False)
        return NpsFigures.model_validate(row.model_dump(exclude={"period", "unit_id"}))

    def share_figures(self, period: str, units: Iterable[str | None]) -> ShareFigures | None:
        found = [self.contacts[(period, u)] for u in units if (period, u) in self.contacts]
        if not found:
            return None
        channels: Counter[str] = Counter()
        for counts in found:
            channels.update(counts)
        row = share_row(period, None, dict(sorted(channels.items())), self.digital)
        return ShareFigures.model_validate(row.model_dump(exclude={"period", "unit_id"}))

    def pathway_figures(self, period: str, pathways: Iterable[str | None]) -> PathwayFigures | None:
        ids = list(pathways)
        rows = [self.pathways[(period, p)] for p in ids if (period, p) in self.pathways]
        if not rows:
            return None
        active: dict[tuple[str, str | None], int] = {
            (period, None): sum(self.active.get((period, p), 0) for p in ids)
        }
        row = pathway_row(_summed(rows, period), active, False)
        return PathwayFigures.model_validate(row.model_dump(exclude={"period", "pathway_id"}))

    # --- comparisons -------------------------------------------------------------------------

    def chat_comparison(self, queues: Sequence[str]) -> ChatComparison | None:
        found = _comparison([self.chat_figures(p, queues) for p in self.periods])
        if found is None:
            return None
        month, previous, year_before = found
        target = definitions.CHAT_SERVICE_LEVEL_TARGET
        level = month.service_level if month else None
        return ChatComparison(
            month=month,
            previous_month=previous,
            year_before=year_before,
            service_level_target=target,
            service_level_target_met=None if level is None else level >= target,
        )

    def nps_comparison(
        self, units: Sequence[str | None], target: float | None
    ) -> NpsComparison | None:
        found = _comparison([self.nps_figures(p, units) for p in self.periods])
        if found is None:
            return None
        month, previous, year_before = found
        nps = month.nps if month else None
        return NpsComparison(
            month=month,
            previous_month=previous,
            year_before=year_before,
            target=target,
            target_met=None if nps is None or target is None else nps >= target,
        )

    def share_comparison(self, units: Sequence[str | None]) -> ShareComparison | None:
        found = _comparison([self.share_figures(p, units) for p in self.periods])
        if found is None:
            return None
        month, previous, year_before = found
        target = definitions.DIGITAL_SHARE_TARGET
        share = month.digital_share if month else None
        return ShareComparison(
            month=month,
            previous_month=previous,
            year_before=year_before,
            target=target,
            target_met=None if share is None else share >= target,
        )

    def pathway_comparison(
        self, pathways: Sequence[str | None], pathway_id: str | None, name: str, kind: str | None
    ) -> PathwayComparison | None:
        found = _comparison([self.pathway_figures(p, pathways) for p in self.periods])
        if found is None:
            return None
        month, previous, year_before = found
        return PathwayComparison(
            pathway_id=pathway_id,
            name=name,
            kind=kind,
            month=month,
            previous_month=previous,
            year_before=year_before,
        )

    def bot_comparison(self) -> BotComparison | None:
        if self.bots is None:
            return None
        figures = []
        for period in self.periods:
            sessions, resolved = self.bots.get(period, (0, 0))
            containment = resolved / sessions if sessions else None
            figures.append(
                BotFigures(sessions=sessions, resolved=resolved, containment=containment)
                if period in self.bots
                else None
            )
        found = _comparison(figures)
        if found is None:
            return None
        return BotComparison(month=found[0], previous_month=found[1], year_before=found[2])

    # --- the report --------------------------------------------------------------------------

    def report(
        self,
        units: list[str] | None,
        queues: list[str] | None,
        scope: Scope,
        now: datetime | None,
    ) -> MonthlyReport:
        registry = self.registry
        queue_unit = {q.id: q.unit for q in registry.queues}
        unit_area = {u.id: u.service_area for u in registry.units}
        pathway_area = {p.id: p.service_area for p in registry.pathways}
        data_queues = sorted({q for _, q in self.chat if q is not None})
        data_units = sorted({u for _, u in [*self.nps, *self.contacts] if u is not None})
        data_pathways = sorted({p for _, p in [*self.pathways, *self.active] if p is not None})

        areas: list[ServiceAreaReport] = []
        area_ids: list[str | None] = [a.id for a in registry.service_areas]
        for area_id in [*area_ids, None]:
            if area_id is None:
                area_units: list[str | None] = [u for u in data_units if u not in unit_area]
                area_queues = [q for q in data_queues if q not in queue_unit]
                area_paths = [p for p in data_pathways if p not in pathway_area]
                name = NOT_REGISTERED
            else:
                area_units = [
                    u.id
                    for u in registry.units
                    if u.service_area == area_id and (units is None or u.id in units)
                ]
                area_queues = [
                    q.id
                    for q in registry.queues
                    if unit_area.get(q.unit) == area_id and (queues is None or q.id in queues)
                ]
                area_paths = [p.id for p in registry.pathways if p.service_area == area_id]
                name = next(a.name for a in registry.service_areas if a.id == area_id)
            area = self.service_area(area_id, name, area_units, area_queues, area_paths)
            if area is not None:
                areas.append(area)

        everything = TotalReport(
            name="County" if scope.units is None else "All units in this report",
            chat=self.chat_comparison(data_queues),
            chatbot=self.bot_comparison(),
            nps=self.nps_comparison(data_units, None),
            digital_share=self.share_comparison(data_units),
            pathways=self.pathway_comparison(data_pathways, None, "All pathways", None),
        )
        shown_units = [u.unit_id for a in areas for u in a.units if u.unit_id in unit_area]
        shown_queues = [q for q in registry.queues if queues is None or q.id in queues]
        return MonthlyReport(
            month=self.periods[0],
            previous_month=self.periods[1],
            year_before=self.periods[2],
            title=f"Monthly report {self.month.name}",
            scope=scope,
            total=everything,
            service_areas=areas,
            trend=self.trend(data_queues, data_units),
            targets=Targets(
                chat_service_level=definitions.CHAT_SERVICE_LEVEL_TARGET,
                digital_share=definitions.DIGITAL_SHARE_TARGET,
                nps_by_unit={
                    u: t
                    for u in shown_units
                    if u is not None and (t := definitions.nps_target(registry, u)) is not None
                },
                nps_default=definitions.DEFAULT_NPS_TARGET,
            ),
            definitions=Definitions(
                formula_version=definitions.FORMULA_VERSION,
                timezone=self.ctx.settings.timezone,
                service_level_seconds={q.id: q.service_level_seconds for q in shown_queues},
                short_abandon_seconds={q.id: q.short_abandon_seconds for q in shown_queues},
                digital_channels=list(self.digital),
                min_responses=self.min_responses,
                terms=[
                    Definition(term=term, text=text)
                    for term, text in definitions.texts(self.min_responses, self.digital)
                ],
            ),
            metadata=Metadata(generated_at=now or datetime.now(UTC), generator=GENERATOR),
        )

    def service_area(
        self,
        area_id: str | None,
        name: str,
        units: list[str | None],
        queues: list[str],
        pathways: list[str],
    ) -> ServiceAreaReport | None:
        queue_unit = {q.id: q.unit for q in self.registry.queues}
        unit_reports = []
        for unit_id in units:
            own = [q for q in queues if queue_unit.get(q) == unit_id]
            report = self.unit(unit_id, own)
            if report is not None:
                unit_reports.append(report)
        stray = [q for q in queues if q not in queue_unit]
        if stray:
            report = self.unit(None, stray)
            if report is not None:
                unit_reports.append(report)
        pathway_reports = [
            found
            for p in pathways
            if (found := self.pathway_comparison([p], p, *self._pathway_label(p))) is not None
        ]
        if not unit_reports and not pathway_reports:
            return None
        return ServiceAreaReport(
            service_area_id=area_id,
            name=name,
            chat=self.chat_comparison(queues),
            nps=self.nps_comparison(units, None),
            digital_share=self.share_comparison(units),
            pathways=pathway_reports,
            units=unit_reports,
        )

    def _pathway_label(self, pathway_id: str) -> tuple[str, str | None]:
        known = next((p for p in self.registry.pathways if p.id == pathway_id), None)
        if known:
            return known.name, known.kind
        return pathway_id or "(pathway not known)", None

    def unit(self, unit_id: str | None, queues: list[str]) -> UnitReport | None:
        queue_reports = []
        for queue_id in queues:
            chat = self.chat_comparison([queue_id])
            if chat is None:
                continue
            known = self.registry.queue(queue_id)
            queue_reports.append(
                QueueReport(
                    queue_id=queue_id,
                    name=known.name if known else queue_id,
                    service_level_seconds=known.service_level_seconds if known else 60,
                    chat=chat,
                )
            )
        target = definitions.nps_target(self.registry, unit_id)
        chat = self.chat_comparison(queues)
        nps = self.nps_comparison([unit_id], target) if unit_id is not None else None
        share = self.share_comparison([unit_id]) if unit_id is not None else None
        if chat is None and nps is None and share is None:
            return None
        if unit_id is None:
            name = "Queues not in the registry"
        else:
            name = _unit_name(self.registry, unit_id)
        return UnitReport(
            unit_id=unit_id,
            name=name,
            chat=chat,
            queues=queue_reports,
            nps=nps,
            digital_share=share,
        )

    def trend(self, queues: list[str], units: list[str]) -> list[TrendPoint]:
        points = []
        for period in self.trend_months:
            chat = self.chat_figures(period, queues)
            nps = self.nps_figures(period, units)
            share = self.share_figures(period, units)
            points.append(
                TrendPoint(
                    month=period,
                    chat_offered=chat.offered if chat else None,
                    chat_service_level=chat.service_level if chat else None,
                    nps=nps.nps if nps else None,
                    nps_ci95_lower=nps.ci95_lower if nps else None,
                    nps_ci95_upper=nps.ci95_upper if nps else None,
                    nps_responses=nps.responses if nps else None,
                    digital_share=share.digital_share if share else None,
                )
            )
        return points
