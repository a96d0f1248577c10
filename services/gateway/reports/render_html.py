"""The monthly report as one self-contained HTML page: inline CSS, charts as inline SVG, no
script and nothing fetched. The same page, with its print CSS, is the PDF (render_pdf).

The markup is in templates/ (Jinja2, every value escaped); this module works out what the
templates show: the figures formatted, the rows of each table, the charts' SVG."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeAlias, TypeVar

import jinja2
from markupsafe import Markup

from services.common import formulas
from services.common.i18n import DASH, N_, Language, Translator, translator
from services.gateway.feedback.schemas import NpsFigures
from services.gateway.reports import charts
from services.gateway.reports.definitions import channel_name
from services.gateway.reports.schemas import (
    BotComparison,
    ChatComparison,
    ChatFigures,
    MonthlyReport,
    NpsComparison,
    NpsDrop,
    PathwayComparison,
    PathwayFigures,
    QueueReport,
    ServiceAreaReport,
    ShareComparison,
    ShareFigures,
    TotalReport,
    UnitReport,
)
from services.gateway.templating import environment

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

F = TypeVar("F")
F_co = TypeVar("F_co", covariant=True)
C = TypeVar("C", NpsComparison, ShareComparison)
Level: TypeAlias = Literal["area", "unit", "queue", "pathway"]  # a row of a comparison table
Periods: TypeAlias = tuple[str, str, str]  # the month, the month before, a year before


@cache
def templates(language: Language) -> jinja2.Environment:
    env = environment(TEMPLATE_DIR, language)
    env.filters["two_decimals"] = partial(translator(language).decimal, digits=2)
    return env


# --- number formats ---------------------------------------------------------------------------


def seconds(t: Translator, value: float | None) -> str:
    return DASH if value is None else t("{seconds} s", seconds=t.decimal(value, 0))


def at_least(t: Translator, share: float) -> str:
    return f"≥ {t.whole_percent(share)}"


def periods(t: Translator, report: MonthlyReport) -> Periods:
    return (
        t.short_month(report.month),
        t.short_month(report.previous_month),
        t.short_month(report.year_before),
    )


# --- cells, targets, columns ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    muted: bool = False  # shown grey: a figure withheld


BLANK = Cell("")
Figure: TypeAlias = Callable[[Translator, F], "str | Cell"]  # the figures of one period -> a cell


def cell(t: Translator, figure: Figure[F], figures: F | None) -> Cell:
    if figures is None:
        return Cell(DASH)
    value = figure(t, figures)
    return value if isinstance(value, Cell) else Cell(value)


@dataclass(frozen=True, slots=True)
class Target:
    text: str  # e.g. "≥ 80 %"; empty: no target
    met: bool | None = None


NO_TARGET = Target("")


def chat_target(t: Translator, chat: ChatComparison) -> Target:
    return Target(at_least(t, chat.service_level_target), chat.service_level_target_met)


def nps_target(nps: NpsComparison) -> Target:
    return Target(f"≥ {nps.target:.0f}" if nps.target is not None else "", nps.target_met)


def share_target(t: Translator, share: ShareComparison) -> Target:
    return Target(at_least(t, share.target), share.target_met)


@dataclass(frozen=True, slots=True)
class Column(Generic[F]):
    header: str  # marked N_(), translated in the template
    figure: Figure[F]
    left: bool = False  # text, left-aligned and small
    month_only: bool = False  # filled on the month's row only


def _nps(t: Translator, f: NpsFigures) -> str | Cell:
    return Cell(t("suppressed"), muted=True) if f.suppressed else t.decimal(f.nps)


def _interval(t: Translator, f: NpsFigures) -> str:
    if f.ci95_lower is None or f.ci95_upper is None:
        return DASH
    return f"{t.decimal(f.ci95_lower)} … {t.decimal(f.ci95_upper)}"


def _channels(t: Translator, f: ShareFigures) -> str:
    parts = sorted(f.by_channel.items(), key=lambda item: (-item[1], item[0]))
    return " · ".join(
        f"{channel_name(t, c)} {t.whole_percent(formulas.ratio(n, f.contacts) or 0)}"
        for c, n in parts
    )


def _thumbs(t: Translator, f: PathwayFigures) -> str:
    share = formulas.thumbs_up_share(f.thumbs_up, f.thumbs_down)
    given = f.thumbs_up + f.thumbs_down
    if share is None:
        return DASH
    return t("{share} of {given}", share=t.whole_percent(share), given=t.integer(given))


@dataclass(frozen=True, slots=True)
class Layout(Generic[F]):
    """A comparison table of one kind of figures."""

    heading: str
    first: str  # the header of the name column
    columns: tuple[Column[F], ...]


CHAT: Layout[ChatFigures] = Layout(
    N_("Chat"),
    N_("Unit, queue"),
    (
        Column(N_("Offered"), lambda t, f: t.integer(f.offered)),
        Column(N_("Answered"), lambda t, f: t.integer(f.answered)),
        Column(N_("Service level"), lambda t, f: t.percent(f.service_level)),
        Column(N_("ASA"), lambda t, f: seconds(t, f.asa_seconds)),
        Column(N_("Abandon rate"), lambda t, f: t.percent(f.abandon_rate)),
        Column(N_("Resolved"), lambda t, f: t.percent(f.resolved_rate)),
    ),
)
NPS: Layout[NpsFigures] = Layout(
    N_("Customer feedback (NPS)"),
    N_("Unit"),
    (
        Column(N_("NPS"), _nps),
        Column(N_("95 % interval"), _interval),
        Column(N_("Responses"), lambda t, f: t.integer(f.responses)),
        Column(N_("Sent"), lambda t, f: t.integer(f.surveys_sent)),
        Column(N_("Response rate"), lambda t, f: t.percent(f.response_rate)),
    ),
)
SHARE: Layout[ShareFigures] = Layout(
    N_("Digital share of contacts"),
    N_("Unit"),
    (
        Column(N_("Contacts"), lambda t, f: t.integer(f.contacts)),
        Column(N_("Digital"), lambda t, f: t.integer(f.digital_contacts)),
        Column(N_("Digital share"), lambda t, f: t.percent(f.digital_share)),
        Column(
            N_("Channels in the month (share of contacts)"), _channels, left=True, month_only=True
        ),
    ),
)
PATHWAYS: Layout[PathwayFigures] = Layout(
    N_("Digital care pathways"),
    N_("Pathway"),
    (
        Column(N_("Starts"), lambda t, f: t.integer(f.starts)),
        Column(N_("Completions"), lambda t, f: t.integer(f.completions)),
        Column(N_("Discontinued"), lambda t, f: t.integer(f.discontinued)),
        Column(N_("Active at end"), lambda t, f: t.integer(f.active)),
        Column(N_("Completion rate"), lambda t, f: t.percent(f.completion_rate)),
        Column(N_("Thumbs up"), _thumbs),
    ),
)


# --- the comparison tables of a service area --------------------------------------------------


class Compared(Protocol[F_co]):
    """A comparison of the schema: the figures of the three periods (None: no data)."""

    @property
    def month(self) -> F_co | None: ...
    @property
    def previous_month(self) -> F_co | None: ...
    @property
    def year_before(self) -> F_co | None: ...


def _three(comparison: Compared[F]) -> tuple[F | None, F | None, F | None]:
    return comparison.month, comparison.previous_month, comparison.year_before


@dataclass(frozen=True, slots=True)
class Entity(Generic[F]):
    name: str
    level: Level
    figures: tuple[F | None, F | None, F | None]
    target: Target = NO_TARGET  # shown on the month's row
    detail: str = ""  # a second, smaller line under the name


def chat_entity(
    t: Translator, name: str, level: Level, chat: ChatComparison, detail: str = ""
) -> Entity[ChatFigures]:
    return Entity(name, level, _three(chat), chat_target(t, chat), detail)


def nps_entity(t: Translator, name: str, level: Level, nps: NpsComparison) -> Entity[NpsFigures]:
    return Entity(name, level, _three(nps), nps_target(nps), drop_note(t, nps.drop))


def drop_note(t: Translator, drop: NpsDrop | None) -> str:
    """The drop detector's view of the month, under a unit's name; empty without an alarm."""
    if drop is None or not drop.days_on:
        return ""
    if drop.alarm_at_month_end and drop.since is not None:
        return t("Drop signalled since {day}.", day=t.day(drop.since))
    return t.plural("Drop signalled on {n} day", "Drop signalled on {n} days", drop.days_on)


def share_entity(
    t: Translator, name: str, level: Level, share: ShareComparison
) -> Entity[ShareFigures]:
    return Entity(name, level, _three(share), share_target(t, share))


def pathway_entity(pathway: PathwayComparison) -> Entity[PathwayFigures]:
    return Entity(pathway.name, "pathway", _three(pathway))


@dataclass(frozen=True, slots=True)
class Row:
    period: str
    cells: list[tuple[Column[Any], Cell]]


@dataclass(frozen=True, slots=True)
class Group:
    """One entity: the month's row and the two earlier ones."""

    entity: Entity[Any]
    rows: list[Row]


@dataclass(frozen=True, slots=True)
class Table:
    layout: Layout[Any]
    groups: list[Group]

    @property
    def has_target(self) -> bool:
        return any(group.entity.target.text for group in self.groups)


def comparison_table(
    t: Translator, layout: Layout[F], entities: Sequence[Entity[F]], labels: Periods
) -> Table:
    return Table(layout, [Group(e, _rows(t, e, layout.columns, labels)) for e in entities])


def _rows(
    t: Translator, entity: Entity[F], columns: Sequence[Column[F]], labels: Periods
) -> list[Row]:
    return [
        Row(
            label,
            [(c, BLANK if n and c.month_only else cell(t, c.figure, figures)) for c in columns],
        )
        for n, (label, figures) in enumerate(zip(labels, entity.figures, strict=True))
    ]


def _area_first(area_row: Entity[F] | None, units: int, rows: list[Entity[F]]) -> list[Entity[F]]:
    """The service area's own row leads when more than one of its units has figures."""
    return [area_row, *rows] if area_row is not None and units > 1 else rows


def _queue_name(queue: QueueReport) -> str:
    return f"{queue.name} ({queue.service_level_seconds} s)"


def _unit_chat(t: Translator, unit: UnitReport, chat: ChatComparison) -> list[Entity[ChatFigures]]:
    if len(unit.queues) == 1:  # the unit is its queue: one row, named after both
        return [chat_entity(t, unit.name, "unit", chat, _queue_name(unit.queues[0]))]
    queues = [chat_entity(t, _queue_name(q), "queue", q.chat) for q in unit.queues]
    return [chat_entity(t, unit.name, "unit", chat), *queues]


def chat_entities(t: Translator, area: ServiceAreaReport) -> list[Entity[ChatFigures]]:
    units = [(unit, unit.chat) for unit in area.units if unit.chat]
    rows = [row for unit, chat in units for row in _unit_chat(t, unit, chat)]
    name = t("{area}, all queues", area=area.name)
    total = chat_entity(t, name, "area", area.chat) if area.chat else None
    return _area_first(total, len(units), rows)


def unit_entities(
    t: Translator,
    area: ServiceAreaReport,
    of: Callable[[UnitReport | ServiceAreaReport], C | None],
    entity: Callable[[Translator, str, Level, C], Entity[F]],
) -> list[Entity[F]]:
    """One row per unit with figures of this kind (`of`), the service area's first."""
    rows = [entity(t, unit.name, "unit", c) for unit in area.units if (c := of(unit)) is not None]
    total = of(area)
    name = t("{area}, all units", area=area.name)
    area_row = entity(t, name, "area", total) if total is not None else None
    return _area_first(area_row, len(rows), rows)


@dataclass(frozen=True, slots=True)
class Area:
    name: str
    tables: list[Table]  # only those with rows


def area_view(t: Translator, area: ServiceAreaReport, labels: Periods) -> Area:
    nps = unit_entities(t, area, lambda x: x.nps, nps_entity)
    share = unit_entities(t, area, lambda x: x.digital_share, share_entity)
    tables = [
        comparison_table(t, CHAT, chat_entities(t, area), labels),
        comparison_table(t, NPS, nps, labels),
        comparison_table(t, SHARE, share, labels),
        comparison_table(t, PATHWAYS, [pathway_entity(p) for p in area.pathways], labels),
    ]
    return Area(area.name, [table for table in tables if table.groups])


# --- the summary ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SummaryRow:
    name: str  # marked N_(), translated in the template
    cells: list[Cell]  # the month, the month before, a year before
    target: Target = NO_TARGET


class Summary:
    """The total's headline figures, in the reader's language."""

    def __init__(self, t: Translator) -> None:
        self.t = t

    def line(
        self, name: str, comparison: Compared[F], figure: Figure[F], target: Target = NO_TARGET
    ) -> SummaryRow:
        return SummaryRow(name, [cell(self.t, figure, f) for f in _three(comparison)], target)

    def chat(self, chat: ChatComparison) -> list[SummaryRow]:
        return [
            self.line(N_("Chats offered"), chat, lambda t, f: t.integer(f.offered)),
            self.line(
                N_("Chat service level"),
                chat,
                lambda t, f: t.percent(f.service_level),
                chat_target(self.t, chat),
            ),
            self.line(N_("Average speed of answer"), chat, lambda t, f: seconds(t, f.asa_seconds)),
            self.line(N_("Chat abandon rate"), chat, lambda t, f: t.percent(f.abandon_rate)),
            self.line(N_("Chats resolved"), chat, lambda t, f: t.percent(f.resolved_rate)),
        ]

    def chatbot(self, chatbot: BotComparison) -> list[SummaryRow]:
        return [
            self.line(N_("Chatbot conversations"), chatbot, lambda t, f: t.integer(f.sessions)),
            self.line(N_("Chatbot containment"), chatbot, lambda t, f: t.percent(f.containment)),
        ]

    def nps(self, nps: NpsComparison) -> list[SummaryRow]:
        return [
            self.line(N_("NPS"), nps, _nps, Target(self.t("per unit"))),
            self.line(N_("NPS 95 % interval"), nps, _interval),
            self.line(N_("Survey responses"), nps, lambda t, f: t.integer(f.responses)),
            self.line(N_("Response rate"), nps, lambda t, f: t.percent(f.response_rate)),
        ]

    def pathways(self, pathways: PathwayComparison) -> list[SummaryRow]:
        return [
            self.line(N_("Pathway starts"), pathways, lambda t, f: t.integer(f.starts)),
            self.line(N_("Pathway completions"), pathways, lambda t, f: t.integer(f.completions)),
        ]

    def share(self, share: ShareComparison) -> list[SummaryRow]:
        target = share_target(self.t, share)
        return [
            self.line(N_("Contacts"), share, lambda t, f: t.integer(f.contacts)),
            self.line(
                N_("Digital share of contacts"),
                share,
                lambda t, f: t.percent(f.digital_share),
                target,
            ),
        ]

    def rows(self, total: TotalReport) -> list[SummaryRow]:
        """The total's headline figures; empty when it has none."""
        rows: list[SummaryRow] = []
        if total.chat:
            rows += self.chat(total.chat)
        if total.chatbot:
            rows += self.chatbot(total.chatbot)
        if total.nps:
            rows += self.nps(total.nps)
        if total.pathways:
            rows += self.pathways(total.pathways)
        if total.digital_share:
            rows += self.share(total.digital_share)
        return rows


# --- charts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chart:
    svg: Markup
    caption: str


def chart(svg: str, caption: str) -> Chart:
    # Marked safe: the SVG is our own, drawn by charts.py, which escapes every text it puts in.
    return Chart(Markup(svg), caption)


def _trend_labels(report: MonthlyReport) -> list[str]:
    return [f"{p.month[5:]}/{p.month[2:4]}" for p in report.trend]


def chart_section(t: Translator, report: MonthlyReport) -> list[Chart]:
    trend, label = report.trend, _trend_labels(report)
    level = charts.line_chart(
        t("Chat service level by month"),
        [charts.Point(m, p.chat_service_level) for m, p in zip(label, trend, strict=True)],
        t.whole_percent,
        low=0.0,
        high=1.0,
        target=report.targets.chat_service_level,
        target_label=t("target"),
        width=700,
    )
    unit_targets = set(report.targets.nps_by_unit.values())
    nps = charts.line_chart(
        t("NPS by month with its 95 % interval"),
        [
            charts.Point(m, p.nps, p.nps_ci95_lower, p.nps_ci95_upper)
            for m, p in zip(label, trend, strict=True)
        ],
        charts.number,
        low=0.0,
        high=100.0,
        target=unit_targets.pop() if len(unit_targets) == 1 else None,
        target_label=t("unit target"),
        width=700,
    )
    share = charts.line_chart(
        t("Digital share of contacts by month"),
        [charts.Point(m, p.digital_share) for m, p in zip(label, trend, strict=True)],
        t.whole_percent,
        low=0.0,
        target=report.targets.digital_share,
        target_label=t("target"),
        width=700,
    )
    month = t.short_month(report.month)
    return [
        chart(level, t("The month and the 12 before it; dashed: the service-level target.")),
        chart(nps, t("Whiskers: 95 % interval; months with too few responses are left out.")),
        chart(
            share,
            t("Contacts in the digital channels ÷ all contacts; dashed: the national target."),
        ),
        chart(
            unit_nps_chart(t, report),
            t(
                "{month}: each unit's NPS against its own target; units with too few responses "
                "show their count only.",
                month=month,
            ),
        ),
        chart(channel_chart(t, report), t("{month}, all units in this report.", month=month)),
    ]


def unit_nps_chart(t: Translator, report: MonthlyReport) -> str:
    rows = []
    for area in report.service_areas:
        for unit in area.units:
            month = unit.nps.month if unit.nps else None
            if month is None:
                continue
            shown = t("suppressed") if month.suppressed else t.decimal(month.nps)
            rows.append(
                charts.Interval(
                    unit.name,
                    month.nps,
                    month.ci95_lower,
                    month.ci95_upper,
                    unit.nps.target if unit.nps else None,
                    f"{shown}, n = {t.integer(month.responses)}",
                )
            )
    title = t("NPS by unit, {month}", month=t.short_month(report.month))
    legend = charts.IntervalLegend(t("target"), t("95 % interval"), t("met"), t("not met"))
    return charts.interval_chart(title, rows, width=700, legend=legend)


def channel_chart(t: Translator, report: MonthlyReport) -> str:
    share = report.total.digital_share
    month = share.month if share else None
    bars = []
    if month is not None and month.contacts:
        digital = set(report.definitions.digital_channels)
        for channel, n in sorted(month.by_channel.items(), key=lambda i: (-i[1], i[0])):
            bars.append(
                charts.Bar(
                    channel_name(t, channel),
                    n / month.contacts,
                    f"{t.percent(n / month.contacts)} ({t.integer(n)})",
                    channel in digital,
                )
            )
    legend = t("digital channels")
    if month is not None:
        legend = t("digital channels: {share} of all", share=t.percent(month.digital_share))
    title = t("Contacts by channel, {month}", month=t.short_month(report.month))
    return charts.bar_chart(title, bars, legend, width=700, others=t("other channels"))


# --- the page ---------------------------------------------------------------------------------


def settings(t: Translator, report: MonthlyReport) -> list[tuple[str, str]]:
    """The configuration behind the figures, as (setting, value)."""
    d = report.definitions
    queues = ", ".join(f"{q} {s} s" for q, s in d.service_level_seconds.items()) or DASH
    short = ", ".join(f"{q} {s} s" for q, s in d.short_abandon_seconds.items()) or DASH
    targets = ", ".join(f"{u} {n:.0f}" for u, n in report.targets.nps_by_unit.items()) or DASH
    channels = ", ".join(channel_name(t, c) for c in d.digital_channels) or DASH
    return [
        (t("Formula version"), d.formula_version),
        (t("Time zone"), d.timezone),
        (t("Service-level seconds per queue"), queues),
        (t("Short-abandon seconds per queue"), short),
        (t("Digital channels"), channels),
        (
            t("Smallest group whose NPS is shown"),
            t("{n} responses", n=t.integer(d.min_responses)),
        ),
        (t("Chat service-level target"), t.percent(report.targets.chat_service_level)),
        (t("Digital-share target"), t.percent(report.targets.digital_share)),
        (t("NPS target per unit"), targets),
    ]


def render(report: MonthlyReport) -> str:
    language = report.metadata.language
    t = translator(language)
    labels = periods(t, report)
    return (
        templates(language)
        .get_template("report.html.j2")
        .render(
            report=report,
            language=language,
            periods=labels,
            summary=Summary(t).rows(report.total),
            charts=chart_section(t, report),
            areas=[area_view(t, area, labels) for area in report.service_areas],
            settings=settings(t, report),
            generated=t.day(report.metadata.generated_at.date())
            + report.metadata.generated_at.strftime(" %H:%M UTC"),
        )
    )
