"""The monthly report as one self-contained HTML page: inline CSS, charts as inline SVG, no
script and nothing fetched. The same page, with its print CSS, is the PDF (render_pdf).

The markup is in templates/ (Jinja2, every value escaped); this module works out what the
templates show: the figures formatted, the rows of each table, the charts' SVG."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeAlias, TypeVar

import jinja2
from markupsafe import Markup

from services.common import formulas
from services.gateway.feedback.schemas import NpsFigures
from services.gateway.reports import charts
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
from services.gateway.reports.service import month_name

DASH = "\u2013"
CHANNEL_NAMES = {
    "in_person": "in person",
    "home_visit": "home visit",
    "phone": "phone",
    "video": "video",
    "chat": "chat",
    "message": "message",
    "e_service": "e-service",
    "pathway": "pathway",
    "other": "other",
}

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters["month_name"] = month_name

F = TypeVar("F")
F_co = TypeVar("F_co", covariant=True)
C = TypeVar("C", NpsComparison, ShareComparison)
Level: TypeAlias = Literal["area", "unit", "queue", "pathway"]  # a row of a comparison table
Periods: TypeAlias = tuple[str, str, str]  # the month, the month before, a year before


# --- number formats ---------------------------------------------------------------------------


def integer(value: int | None) -> str:
    return DASH if value is None else f"{value:,}".replace(",", "\u202f")


def pct(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f} %"


def seconds(value: float | None) -> str:
    return DASH if value is None else f"{value:.0f} s"


def score(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


def at_least(share: float) -> str:
    return f"≥ {share * 100:.0f} %"


def short_month(label: str) -> str:
    return month_name(label)[:3] + " " + label[:4]


def periods(report: MonthlyReport) -> Periods:
    return (
        short_month(report.month),
        short_month(report.previous_month),
        short_month(report.year_before),
    )


# --- cells, targets, columns ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    muted: bool = False  # shown grey: a figure withheld


BLANK = Cell("")
Figure: TypeAlias = Callable[[F], "str | Cell"]  # the figures of one period -> a cell


def cell(figure: Figure[F], figures: F | None) -> Cell:
    if figures is None:
        return Cell(DASH)
    value = figure(figures)
    return value if isinstance(value, Cell) else Cell(value)


@dataclass(frozen=True, slots=True)
class Target:
    text: str  # e.g. "≥ 80 %"; empty: no target
    met: bool | None = None


NO_TARGET = Target("")


def chat_target(chat: ChatComparison) -> Target:
    return Target(at_least(chat.service_level_target), chat.service_level_target_met)


def nps_target(nps: NpsComparison) -> Target:
    return Target(f"≥ {nps.target:.0f}" if nps.target is not None else "", nps.target_met)


def share_target(share: ShareComparison) -> Target:
    return Target(at_least(share.target), share.target_met)


@dataclass(frozen=True, slots=True)
class Column(Generic[F]):
    header: str
    figure: Figure[F]
    left: bool = False  # text, left-aligned and small
    month_only: bool = False  # filled on the month's row only


def _nps(f: NpsFigures) -> str | Cell:
    return Cell("suppressed", muted=True) if f.suppressed else score(f.nps)


def _interval(f: NpsFigures) -> str:
    if f.ci95_lower is None or f.ci95_upper is None:
        return DASH
    return f"{f.ci95_lower:.1f} … {f.ci95_upper:.1f}"


def _channels(f: ShareFigures) -> str:
    parts = sorted(f.by_channel.items(), key=lambda item: (-item[1], item[0]))
    return " · ".join(
        f"{CHANNEL_NAMES.get(c, c)} {(formulas.ratio(n, f.contacts) or 0) * 100:.0f} %"
        for c, n in parts
    )


def _thumbs(f: PathwayFigures) -> str:
    share = formulas.thumbs_up_share(f.thumbs_up, f.thumbs_down)
    given = f.thumbs_up + f.thumbs_down
    return DASH if share is None else f"{share * 100:.0f} % of {given}"


@dataclass(frozen=True, slots=True)
class Layout(Generic[F]):
    """A comparison table of one kind of figures."""

    heading: str
    first: str  # the header of the name column
    columns: tuple[Column[F], ...]


CHAT: Layout[ChatFigures] = Layout(
    "Chat",
    "Unit, queue",
    (
        Column("Offered", lambda f: integer(f.offered)),
        Column("Answered", lambda f: integer(f.answered)),
        Column("Service level", lambda f: pct(f.service_level)),
        Column("ASA", lambda f: seconds(f.asa_seconds)),
        Column("Abandon rate", lambda f: pct(f.abandon_rate)),
        Column("Resolved", lambda f: pct(f.resolved_rate)),
    ),
)
NPS: Layout[NpsFigures] = Layout(
    "Customer feedback (NPS)",
    "Unit",
    (
        Column("NPS", _nps),
        Column("95 % interval", _interval),
        Column("Responses", lambda f: integer(f.responses)),
        Column("Sent", lambda f: integer(f.surveys_sent)),
        Column("Response rate", lambda f: pct(f.response_rate)),
    ),
)
SHARE: Layout[ShareFigures] = Layout(
    "Digital share of contacts",
    "Unit",
    (
        Column("Contacts", lambda f: integer(f.contacts)),
        Column("Digital", lambda f: integer(f.digital_contacts)),
        Column("Digital share", lambda f: pct(f.digital_share)),
        Column("Channels in the month (share of contacts)", _channels, left=True, month_only=True),
    ),
)
PATHWAYS: Layout[PathwayFigures] = Layout(
    "Digital care pathways",
    "Pathway",
    (
        Column("Starts", lambda f: integer(f.starts)),
        Column("Completions", lambda f: integer(f.completions)),
        Column("Discontinued", lambda f: integer(f.discontinued)),
        Column("Active at end", lambda f: integer(f.active)),
        Column("Completion rate", lambda f: pct(f.completion_rate)),
        Column("Thumbs up", _thumbs),
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
    name: str, level: Level, chat: ChatComparison, detail: str = ""
) -> Entity[ChatFigures]:
    return Entity(name, level, _three(chat), chat_target(chat), detail)


def nps_entity(name: str, level: Level, nps: NpsComparison) -> Entity[NpsFigures]:
    return Entity(name, level, _three(nps), nps_target(nps), drop_note(nps.drop))


def drop_note(drop: NpsDrop | None) -> str:
    """The drop detector's view of the month, under a unit's name; empty without an alarm."""
    if drop is None or not drop.days_on:
        return ""
    if drop.alarm_at_month_end and drop.since is not None:
        return f"Drop signalled since {drop.since.day}.{drop.since.month}."
    return f"Drop signalled on {drop.days_on} day{'s' if drop.days_on > 1 else ''}"


def share_entity(name: str, level: Level, share: ShareComparison) -> Entity[ShareFigures]:
    return Entity(name, level, _three(share), share_target(share))


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


def comparison_table(layout: Layout[F], entities: Sequence[Entity[F]], labels: Periods) -> Table:
    return Table(layout, [Group(e, _rows(e, layout.columns, labels)) for e in entities])


def _rows(entity: Entity[F], columns: Sequence[Column[F]], labels: Periods) -> list[Row]:
    return [
        Row(
            label,
            [(c, BLANK if n and c.month_only else cell(c.figure, figures)) for c in columns],
        )
        for n, (label, figures) in enumerate(zip(labels, entity.figures, strict=True))
    ]


def _area_first(area_row: Entity[F] | None, units: int, rows: list[Entity[F]]) -> list[Entity[F]]:
    """The service area's own row leads when more than one of its units has figures."""
    return [area_row, *rows] if area_row is not None and units > 1 else rows


def _queue_name(queue: QueueReport) -> str:
    return f"{queue.name} ({queue.service_level_seconds} s)"


def _unit_chat(unit: UnitReport, chat: ChatComparison) -> list[Entity[ChatFigures]]:
    if len(unit.queues) == 1:  # the unit is its queue: one row, named after both
        return [chat_entity(unit.name, "unit", chat, _queue_name(unit.queues[0]))]
    queues = [chat_entity(_queue_name(q), "queue", q.chat) for q in unit.queues]
    return [chat_entity(unit.name, "unit", chat), *queues]


def chat_entities(area: ServiceAreaReport) -> list[Entity[ChatFigures]]:
    units = [(unit, unit.chat) for unit in area.units if unit.chat]
    rows = [row for unit, chat in units for row in _unit_chat(unit, chat)]
    total = chat_entity(f"{area.name}, all queues", "area", area.chat) if area.chat else None
    return _area_first(total, len(units), rows)


def unit_entities(
    area: ServiceAreaReport,
    of: Callable[[UnitReport | ServiceAreaReport], C | None],
    entity: Callable[[str, Level, C], Entity[F]],
) -> list[Entity[F]]:
    """One row per unit with figures of this kind (`of`), the service area's first."""
    rows = [entity(unit.name, "unit", c) for unit in area.units if (c := of(unit)) is not None]
    total = of(area)
    area_row = entity(f"{area.name}, all units", "area", total) if total is not None else None
    return _area_first(area_row, len(rows), rows)


@dataclass(frozen=True, slots=True)
class Area:
    name: str
    tables: list[Table]  # only those with rows


def area_view(area: ServiceAreaReport, labels: Periods) -> Area:
    nps = unit_entities(area, lambda x: x.nps, nps_entity)
    share = unit_entities(area, lambda x: x.digital_share, share_entity)
    tables = [
        comparison_table(CHAT, chat_entities(area), labels),
        comparison_table(NPS, nps, labels),
        comparison_table(SHARE, share, labels),
        comparison_table(PATHWAYS, [pathway_entity(p) for p in area.pathways], labels),
    ]
    return Area(area.name, [table for table in tables if table.groups])


# --- the summary ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SummaryRow:
    name: str
    cells: list[Cell]  # the month, the month before, a year before
    target: Target = NO_TARGET


def line(
    name: str, comparison: Compared[F], figure: Figure[F], target: Target = NO_TARGET
) -> SummaryRow:
    return SummaryRow(name, [cell(figure, f) for f in _three(comparison)], target)


def _chat_lines(chat: ChatComparison) -> list[SummaryRow]:
    return [
        line("Chats offered", chat, lambda f: integer(f.offered)),
        line("Chat service level", chat, lambda f: pct(f.service_level), chat_target(chat)),
        line("Average speed of answer", chat, lambda f: seconds(f.asa_seconds)),
        line("Chat abandon rate", chat, lambda f: pct(f.abandon_rate)),
        line("Chats resolved", chat, lambda f: pct(f.resolved_rate)),
    ]


def _chatbot_lines(chatbot: BotComparison) -> list[SummaryRow]:
    return [
        line("Chatbot conversations", chatbot, lambda f: integer(f.sessions)),
        line("Chatbot containment", chatbot, lambda f: pct(f.containment)),
    ]


def _nps_lines(nps: NpsComparison) -> list[SummaryRow]:
    return [
        line("NPS", nps, _nps, Target("per unit")),
        line("NPS 95 % interval", nps, _interval),
        line("Survey responses", nps, lambda f: integer(f.responses)),
        line("Response rate", nps, lambda f: pct(f.response_rate)),
    ]


def _pathway_lines(pathways: PathwayComparison) -> list[SummaryRow]:
    return [
        line("Pathway starts", pathways, lambda f: integer(f.starts)),
        line("Pathway completions", pathways, lambda f: integer(f.completions)),
    ]


def _share_lines(share: ShareComparison) -> list[SummaryRow]:
    target = share_target(share)
    return [
        line("Contacts", share, lambda f: integer(f.contacts)),
        line("Digital share of contacts", share, lambda f: pct(f.digital_share), target),
    ]


def summary(total: TotalReport) -> list[SummaryRow]:
    """The total's headline figures; empty when it has none."""
    rows: list[SummaryRow] = []
    if total.chat:
        rows += _chat_lines(total.chat)
    if total.chatbot:
        rows += _chatbot_lines(total.chatbot)
    if total.nps:
        rows += _nps_lines(total.nps)
    if total.pathways:
        rows += _pathway_lines(total.pathways)
    if total.digital_share:
        rows += _share_lines(total.digital_share)
    return rows


# --- charts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chart:
    svg: Markup
    caption: str


def chart(svg: str, caption: str) -> Chart:
    # Marked safe: the SVG is our own, drawn by charts.py, which escapes every text it puts in.
    return Chart(Markup(svg), caption)


def chart_section(report: MonthlyReport) -> list[Chart]:
    trend = report.trend
    label = [f"{p.month[5:]}/{p.month[2:4]}" for p in trend]
    level = charts.line_chart(
        "Chat service level by month",
        [charts.Point(m, p.chat_service_level) for m, p in zip(label, trend, strict=True)],
        charts.percent,
        low=0.0,
        high=1.0,
        target=report.targets.chat_service_level,
        width=700,
    )
    unit_targets = set(report.targets.nps_by_unit.values())
    nps = charts.line_chart(
        "NPS by month with its 95 % interval",
        [
            charts.Point(m, p.nps, p.nps_ci95_lower, p.nps_ci95_upper)
            for m, p in zip(label, trend, strict=True)
        ],
        charts.number,
        low=0.0,
        high=100.0,
        target=unit_targets.pop() if len(unit_targets) == 1 else None,
        target_label="unit target",
        width=700,
    )
    share = charts.line_chart(
        "Digital share of contacts by month",
        [charts.Point(m, p.digital_share) for m, p in zip(label, trend, strict=True)],
        charts.percent,
        low=0.0,
        target=report.targets.digital_share,
        width=700,
    )
    month = short_month(report.month)
    return [
        chart(level, "The month and the 12 before it; dashed: the service-level target."),
        chart(nps, "Whiskers: 95 % interval; months with too few responses are left out."),
        chart(
            share, "Contacts in the digital channels ÷ all contacts; dashed: the national target."
        ),
        chart(
            unit_nps_chart(report),
            f"{month}: each unit's NPS against its own target; units with too few responses "
            "show their count only.",
        ),
        chart(channel_chart(report), f"{month}, all units in this report."),
    ]


def unit_nps_chart(report: MonthlyReport) -> str:
    rows = []
    for area in report.service_areas:
        for unit in area.units:
            month = unit.nps.month if unit.nps else None
            if month is None:
                continue
            if month.suppressed:
                note = f"suppressed, n = {month.responses}"
            else:
                note = f"{score(month.nps)}, n = {month.responses}"
            rows.append(
                charts.Interval(
                    unit.name,
                    month.nps,
                    month.ci95_lower,
                    month.ci95_upper,
                    unit.nps.target if unit.nps else None,
                    note,
                )
            )
    return charts.interval_chart(f"NPS by unit, {short_month(report.month)}", rows, width=700)


def channel_chart(report: MonthlyReport) -> str:
    share = report.total.digital_share
    month = share.month if share else None
    bars = []
    if month is not None and month.contacts:
        digital = set(report.definitions.digital_channels)
        for channel, n in sorted(month.by_channel.items(), key=lambda i: (-i[1], i[0])):
            bars.append(
                charts.Bar(
                    CHANNEL_NAMES.get(channel, channel),
                    n / month.contacts,
                    f"{n / month.contacts * 100:.1f} % ({integer(n)})",
                    channel in digital,
                )
            )
    legend = "digital channels"
    if month is not None:
        legend += f": {pct(month.digital_share)} of all"
    return charts.bar_chart(
        f"Contacts by channel, {short_month(report.month)}", bars, legend, width=700
    )


# --- the page ---------------------------------------------------------------------------------


def settings(report: MonthlyReport) -> list[tuple[str, str]]:
    """The configuration behind the figures, as (setting, value)."""
    d = report.definitions
    queues = ", ".join(f"{q} {s} s" for q, s in d.service_level_seconds.items()) or DASH
    short = ", ".join(f"{q} {s} s" for q, s in d.short_abandon_seconds.items()) or DASH
    targets = ", ".join(f"{u} {t:.0f}" for u, t in report.targets.nps_by_unit.items()) or DASH
    return [
        ("Formula version", d.formula_version),
        ("Time zone", d.timezone),
        ("Service-level seconds per queue", queues),
        ("Short-abandon seconds per queue", short),
        ("Digital channels", ", ".join(d.digital_channels) or DASH),
        ("Smallest group whose NPS is shown", f"{d.min_responses} responses"),
        ("Chat service-level target", pct(report.targets.chat_service_level)),
        ("Digital-share target", pct(report.targets.digital_share)),
        ("NPS target per unit", targets),
    ]


def render(report: MonthlyReport) -> str:
    labels = periods(report)
    return TEMPLATES.get_template("report.html.j2").render(
        report=report,
        periods=labels,
        summary=summary(report.total),
        charts=chart_section(report),
        areas=[area_view(area, labels) for area in report.service_areas],
        settings=settings(report),
        generated=report.metadata.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
    )
