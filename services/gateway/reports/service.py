"""The monthly report (docs/api.md): per service area, unit, queue and pathway, the month against
the previous month and the same month a year before, with targets, definitions and a 13-month
trend.

Every figure comes from the statistics endpoints' own queries and row builders, read by queue,
unit and pathway and summed up here, so a unit's or a service area's figures equal what
`/v1/chat/stats`, `/v1/feedback/nps`, `/v1/pathways/stats` and `/v1/contacts/digital-share`
return for it with `granularity=month`. Nothing depends on the clock but `generated_at` and,
in the current month, a unit's NPS-drop view (the evening of today, not of the month's end).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeVar

from services.common import formulas
from services.common.i18n import Language, Translator, translator
from services.common.months import Month
from services.common.nps_drop import evenings
from services.common.registry import Queue, Registry, ServiceArea
from services.common.tokens import Principal
from services.gateway.chat import service as chat_service
from services.gateway.chat.repository import QueueSums
from services.gateway.contacts import service as contacts_service
from services.gateway.context import GatewayContext
from services.gateway.feedback import service as feedback_service
from services.gateway.feedback.repository import StatementSums
from services.gateway.feedback.schemas import NpsFigures
from services.gateway.pathways import service as pathways_service
from services.gateway.periods import Selection
from services.gateway.reports import definitions, repository
from services.gateway.reports.repository import Key
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
    NpsDrop,
    PathwayComparison,
    PathwayFigures,
    QueueReport,
    Scope,
    ServiceAreaReport,
    ShareComparison,
    ShareFigures,
    StatementFigures,
    Targets,
    TotalReport,
    TrendPoint,
    UnitReport,
)
from services.gateway.scope import visible_queues, visible_units
from services.gateway.sql import Sums, total

TREND_MONTHS = 13  # the month and the twelve before it
GENERATOR = "kanava gateway, services/gateway/reports"
T = TypeVar("T")
V = TypeVar("V")


async def build_report(
    ctx: GatewayContext,
    who: Principal,
    month: Month,
    unit_id: str | None = None,
    service_area: str | None = None,
    *,
    language: Language,
) -> MonthlyReport:
    """The report of `month` as `who` may see it, optionally of one unit or service area, its
    texts in `language`."""
    asked = Selection(month.first, month.last, "month", unit_id, service_area, None, None)
    units = visible_units(ctx, who, asked)
    queues = visible_queues(ctx, who, asked)
    window = Selection(month.shift(1 - TREND_MONTHS).first, month.last, "month", *[None] * 4)
    last_evening = min(month.last, ctx.today())
    stored = await repository.read(ctx.engine, window, units, queues, queues is None, last_evening)
    t = translator(language)
    assembly = _Assembly(ctx, stored, month, last_evening, t)
    return assembly.report(units, queues, _scope(ctx.registry, units, asked, t))


def _scope(registry: Registry, units: list[str] | None, asked: Selection, t: Translator) -> Scope:
    if units is None:
        return Scope(limited=False, units=None, description=t("All units of the county"))
    names = [_unit_name(registry, u, t.language) for u in units]
    listed = ", ".join(names) if names else t("none")
    if asked.unit_id:
        why = t("Unit {unit}: {units}", unit=asked.unit_id, units=listed)
    elif asked.service_area:
        area = next((a for a in registry.service_areas if a.id == asked.service_area), None)
        name = area.name_in(t.language) if area else asked.service_area
        why = t("Service area {area}: {units}", area=name, units=listed)
    else:
        why = t("The units this token may read: {units}", units=listed)
    return Scope(limited=True, units=units, description=why)


def _total_name(scope: Scope, t: Translator) -> str:
    return t("County") if scope.units is None else t("All units in this report")


def _unit_name(registry: Registry, unit_id: str, language: Language) -> str:
    unit = registry.unit(unit_id)
    return unit.name_in(language) if unit else unit_id


def _found(index: Mapping[Key, V], period: str, keys: Iterable[str | None]) -> list[V]:
    """The rows of `period` of those keys that have one."""
    return [index[(period, key)] for key in keys if (period, key) in index]


def _comparison(figures: Sequence[T | None]) -> tuple[T | None, T | None, T | None] | None:
    month, previous, year_before = figures
    if month is None and previous is None and year_before is None:
        return None
    return month, previous, year_before


@dataclass(frozen=True, slots=True)
class _Group:
    """What a service area's section sums: its units, queues and pathways."""

    service_area_id: str | None  # None: the ids missing from the registry
    name: str
    units: list[str | None]
    queues: list[str]
    pathways: list[str]


class _Assembly:
    def __init__(
        self,
        ctx: GatewayContext,
        stored: repository.Stored,
        month: Month,
        last_evening: date,
        t: Translator,
    ) -> None:
        self.t = t
        self.registry = ctx.registry
        self.timezone = ctx.settings.timezone
        self.min_responses = ctx.settings.min_responses
        self.digital = ctx.settings.digital_channels
        self.month = month
        self.periods = (month.label, month.shift(-1).label, month.shift(-12).label)
        self.trend_months = [month.shift(n - TREND_MONTHS + 1).label for n in range(TREND_MONTHS)]
        self.bots = stored.bots
        self.chat = {(r.period, r.key): r for r in stored.chat}
        self.nps = {(r.period, r.key): r for r in stored.nps}
        self.statement_sums = stored.statements  # of the month
        self.daily = stored.daily
        self.last_evening = last_evening  # the month's last day, or today in the current month
        self.pathways = {(r.period, r.key): r for r in stored.pathways}
        self.active = stored.active
        self.contacts = stored.contacts
        self.data_queues = sorted({q for _, q in self.chat if q is not None})
        self.data_units = sorted({u for _, u in [*self.nps, *self.contacts] if u is not None})
        self.data_pathways = sorted({p for _, p in [*self.pathways, *self.active] if p is not None})

    # --- figures of one period, summed over queues / units / pathways -----------------------

    def chat_figures(self, period: str, queues: Iterable[str]) -> ChatFigures | None:
        rows = _found(self.chat, period, queues)
        if not rows:
            return None
        # the figures do not include the queues' service-level seconds
        summed = QueueSums(period, None, total(r.counts for r in rows), frozenset())
        row = chat_service.stats_row(self.registry, summed, None, None)
        return ChatFigures.model_validate(row.model_dump(include=set(ChatFigures.model_fields)))

    def nps_figures(self, period: str, units: Iterable[str | None]) -> NpsFigures | None:
        rows = _found(self.nps, period, units)
        if not rows:
            return None
        return feedback_service.nps_figures(total(r.counts for r in rows), self.min_responses)

    def nps_drop(self, unit_id: str) -> NpsDrop | None:
        """The drop detector's view of the month from the unit's whole history; None when no
        evening of the month is in it (a month still to come)."""
        history = self.daily.get(unit_id, [])
        month = [e for e in evenings(history, self.last_evening) if e.day >= self.month.first]
        if not month:
            return None
        end = month[-1]
        return NpsDrop(
            alarm_at_month_end=end.alarm,
            since=end.since,
            days_on=sum(e.alarm for e in month),
            method=end.method,
        )

    def share_figures(self, period: str, units: Iterable[str | None]) -> ShareFigures | None:
        found = _found(self.contacts, period, units)
        if not found:
            return None
        channels: Counter[str] = Counter()
        for counts in found:
            channels.update(counts)
        by_channel = dict(sorted(channels.items()))
        row = contacts_service.share_row(period, None, by_channel, self.digital)
        return ShareFigures.model_validate(row.model_dump(exclude={"period", "unit_id"}))

    def pathway_figures(self, period: str, pathways: Sequence[str | None]) -> PathwayFigures | None:
        rows = _found(self.pathways, period, pathways)
        if not rows:
            return None
        summed = Sums(period, None, total(r.counts for r in rows))
        active = sum(self.active.get((period, p), 0) for p in pathways)
        row = pathways_service.stats_row(summed, active, False)
        return PathwayFigures.model_validate(row.model_dump(exclude={"period", "pathway_id"}))

    def bot_figures(self, period: str) -> BotFigures | None:
        found = self.bots.get(period) if self.bots is not None else None
        if found is None:
            return None
        containment = formulas.ratio(found.resolved, found.sessions)
        return BotFigures(sessions=found.sessions, resolved=found.resolved, containment=containment)

    # --- comparisons -------------------------------------------------------------------------

    def chat_comparison(self, queues: Sequence[str]) -> ChatComparison | None:
        found = _comparison([self.chat_figures(p, queues) for p in self.periods])
        if found is None:
            return None
        month, previous, year_before = found
        target = definitions.chat_target(self.registry, queues)
        level = month.service_level if month else None
        return ChatComparison(
            month=month,
            previous_month=previous,
            year_before=year_before,
            service_level_target=target,
            service_level_target_met=None if level is None else level >= target,
        )

    def nps_comparison(
        self, units: Sequence[str | None], target: float | None, drop: NpsDrop | None = None
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
            drop=drop,
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
        found = _comparison([self.bot_figures(p) for p in self.periods])
        if found is None:
            return None
        month, previous, year_before = found
        return BotComparison(month=month, previous_month=previous, year_before=year_before)

    # --- the report --------------------------------------------------------------------------

    def report(
        self, units: list[str] | None, queues: list[str] | None, scope: Scope
    ) -> MonthlyReport:
        areas = self.service_areas(units, queues)
        return MonthlyReport(
            month=self.periods[0],
            previous_month=self.periods[1],
            year_before=self.periods[2],
            title=self.t("Monthly report {month}", month=self.t.month(self.month.label)),
            scope=scope,
            total=self.total_report(scope),
            service_areas=areas,
            statements=self.statements(scope),
            trend=[self.trend_point(month) for month in self.trend_months],
            targets=self.targets(areas),
            definitions=self.definitions_used(
                [q for q in self.registry.queues if queues is None or q.id in queues]
            ),
            metadata=Metadata(
                generated_at=datetime.now(UTC), generator=GENERATOR, language=self.t.language
            ),
        )

    def statements(self, scope: Scope) -> list[StatementFigures]:
        """The month's statements summed over the report's units, then per unit."""
        by_statement: dict[str, list[StatementSums]] = {}
        for row in self.statement_sums:
            by_statement.setdefault(row.statement, []).append(row)
        everyone = [
            StatementSums(self.month.label, None, code, total(r.counts for r in rows))
            for code, rows in sorted(by_statement.items())
        ]
        rows = everyone + sorted(self.statement_sums, key=lambda r: (r.unit_id or "", r.statement))
        return [
            StatementFigures(
                **feedback_service.statement_row(row, self.min_responses).model_dump(
                    exclude={"period"}
                ),
                name=_total_name(scope, self.t)
                if row.unit_id is None
                else _unit_name(self.registry, row.unit_id, self.t.language),
            )
            for row in rows
        ]

    def total_report(self, scope: Scope) -> TotalReport:
        return TotalReport(
            name=_total_name(scope, self.t),
            chat=self.chat_comparison(self.data_queues),
            chatbot=self.bot_comparison(),
            nps=self.nps_comparison(self.data_units, None),
            digital_share=self.share_comparison(self.data_units),
            pathways=self.pathway_comparison(
                self.data_pathways, None, self.t("All pathways"), None
            ),
        )

    def targets(self, areas: list[ServiceAreaReport]) -> Targets:
        return Targets(
            chat_service_level=definitions.CHAT_SERVICE_LEVEL_TARGET,
            digital_share=definitions.DIGITAL_SHARE_TARGET,
            nps_by_unit={
                u.unit_id: target
                for a in areas
                for u in a.units
                if u.unit_id is not None
                and (target := definitions.nps_target(self.registry, u.unit_id)) is not None
            },
            nps_default=definitions.DEFAULT_NPS_TARGET,
        )

    def definitions_used(self, queues: list[Queue]) -> Definitions:
        return Definitions(
            formula_version=definitions.FORMULA_VERSION,
            timezone=self.timezone,
            service_level_seconds={q.id: q.service_level_seconds for q in queues},
            short_abandon_seconds={q.id: q.short_abandon_seconds for q in queues},
            digital_channels=list(self.digital),
            min_responses=self.min_responses,
            terms=[
                Definition(term=term, text=text)
                for term, text in definitions.texts(self.min_responses, self.digital, self.t)
            ],
        )

    def trend_point(self, month: str) -> TrendPoint:
        chat = self.chat_figures(month, self.data_queues)
        nps = self.nps_figures(month, self.data_units)
        share = self.share_figures(month, self.data_units)
        return TrendPoint(
            month=month,
            chat_offered=chat.offered if chat else None,
            chat_service_level=chat.service_level if chat else None,
            nps=nps.nps if nps else None,
            nps_ci95_lower=nps.ci95_lower if nps else None,
            nps_ci95_upper=nps.ci95_upper if nps else None,
            nps_responses=nps.responses if nps else None,
            digital_share=share.digital_share if share else None,
        )

    # --- service areas, units, queues --------------------------------------------------------

    def service_areas(
        self, units: list[str] | None, queues: list[str] | None
    ) -> list[ServiceAreaReport]:
        groups = [self.registered(area, units, queues) for area in self.registry.service_areas]
        groups.append(self.not_registered())
        return [report for group in groups if (report := self.service_area(group)) is not None]

    def registered(
        self, area: ServiceArea, units: list[str] | None, queues: list[str] | None
    ) -> _Group:
        """A service area of the registry: its units and queues the report covers."""
        in_area = [u.id for u in self.registry.units if u.service_area == area.id]
        return _Group(
            service_area_id=area.id,
            name=area.name_in(self.t.language),
            units=[u for u in in_area if units is None or u in units],
            queues=[
                q.id
                for q in self.registry.queues
                if q.unit in in_area and (queues is None or q.id in queues)
            ],
            pathways=[p.id for p in self.registry.pathways if p.service_area == area.id],
        )

    def not_registered(self) -> _Group:
        """The ids with data that the registry does not know."""
        units = {u.id for u in self.registry.units}
        queues = {q.id for q in self.registry.queues}
        pathways = {p.id for p in self.registry.pathways}
        return _Group(
            service_area_id=None,
            name=self.t(definitions.NOT_REGISTERED),
            units=[u for u in self.data_units if u not in units],
            queues=[q for q in self.data_queues if q not in queues],
            pathways=[p for p in self.data_pathways if p not in pathways],
        )

    def service_area(self, group: _Group) -> ServiceAreaReport | None:
        unit_reports = self.unit_reports(group.units, group.queues)
        pathway_reports = [
            found
            for p in group.pathways
            if (found := self.pathway_comparison([p], p, *self._pathway_label(p))) is not None
        ]
        if not unit_reports and not pathway_reports:
            return None
        return ServiceAreaReport(
            service_area_id=group.service_area_id,
            name=group.name,
            chat=self.chat_comparison(group.queues),
            nps=self.nps_comparison(group.units, None),
            digital_share=self.share_comparison(group.units),
            pathways=pathway_reports,
            units=unit_reports,
        )

    def _pathway_label(self, pathway_id: str) -> tuple[str, str | None]:
        known = next((p for p in self.registry.pathways if p.id == pathway_id), None)
        if known:
            return known.name_in(self.t.language), known.kind
        return pathway_id or self.t("(pathway not known)"), None

    def unit_reports(self, units: list[str | None], queues: list[str]) -> list[UnitReport]:
        """A unit's report per unit, with its queues; queues missing from the registry last."""
        queue_unit = {q.id: q.unit for q in self.registry.queues}
        own = [(u, [q for q in queues if queue_unit.get(q) == u]) for u in units]
        stray = [q for q in queues if q not in queue_unit]
        if stray:
            own.append((None, stray))
        return [report for u, qs in own if (report := self.unit_report(u, qs)) is not None]

    def unit_report(self, unit_id: str | None, queues: list[str]) -> UnitReport | None:
        chat = self.chat_comparison(queues)
        nps = self.unit_nps(unit_id)
        share = self.share_comparison([unit_id]) if unit_id is not None else None
        if chat is None and nps is None and share is None:
            return None
        if unit_id is None:
            name = self.t("Queues not in the registry")
        else:
            name = _unit_name(self.registry, unit_id, self.t.language)
        return UnitReport(
            unit_id=unit_id,
            name=name,
            chat=chat,
            queues=[found for q in queues if (found := self.queue_report(q)) is not None],
            nps=nps,
            digital_share=share,
        )

    def unit_nps(self, unit_id: str | None) -> NpsComparison | None:
        """A unit's NPS against its target, with the drop detector's view of the month."""
        if unit_id is None:
            return None
        target = definitions.nps_target(self.registry, unit_id)
        return self.nps_comparison([unit_id], target, self.nps_drop(unit_id))

    def queue_report(self, queue_id: str) -> QueueReport | None:
        chat = self.chat_comparison([queue_id])
        if chat is None:
            return None
        known = self.registry.queue(queue_id)
        return QueueReport(
            queue_id=queue_id,
            name=known.name_in(self.t.language) if known else queue_id,
            service_level_seconds=chat_service.service_level_seconds(self.registry, queue_id),
            chat=chat,
        )
