"""The monthly report as one self-contained HTML page: inline CSS, charts as inline SVG, no
script and nothing fetched. The same page, with its print CSS, is the PDF (render_pdf)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from services.gateway.reports import charts
from services.gateway.reports.schemas import (
    ChatComparison,
    MonthlyReport,
    NpsComparison,
    PathwayComparison,
    ServiceAreaReport,
    ShareComparison,
)
from services.gateway.reports.service import Month

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

CSS = """
@page { size: A4; margin: 14mm 12mm 15mm 12mm;
  @bottom-left { content: string(doctitle); font: 8pt "DejaVu Sans", sans-serif; color: #6b7079; }
  @bottom-right { content: "page " counter(page) " / " counter(pages);
    font: 8pt "DejaVu Sans", sans-serif; color: #6b7079; } }
* { box-sizing: border-box; }
html { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; font-size: 9.5pt; color: #222; }
body { margin: 0 auto; max-width: 190mm; padding: 0 2mm; line-height: 1.35; }
@media screen { body { margin: 8mm auto; } }
header { border-bottom: 3px solid #1f5fa8; margin-bottom: 4mm; padding-bottom: 2mm; }
.brand { color: #1f5fa8; font-weight: bold; letter-spacing: .04em; margin: 0; font-size: 8.5pt; }
h1 { font-size: 18pt; margin: 1mm 0; string-set: doctitle content(); }
h2 { font-size: 13pt; color: #1f5fa8; margin: 6mm 0 2mm; break-after: avoid; }
h3 { font-size: 10.5pt; margin: 4mm 0 1.5mm; break-after: avoid; }
p.meta { margin: 0.5mm 0; color: #444; }
section.charts + section.area { break-before: page; }
table { border-collapse: collapse; width: 100%; margin: 0 0 3mm; font-size: 8.5pt; }
thead { display: table-header-group; }
tbody, tr { break-inside: avoid; }
th { text-align: right; font-weight: bold; color: #444; border-bottom: 1.5px solid #444;
  padding: 1.2mm 1.5mm; vertical-align: bottom; }
th:first-child, th.left { text-align: left; }
td { text-align: right; padding: 0.6mm 1.5mm; vertical-align: top; white-space: nowrap; }
td.name { text-align: left; white-space: normal; font-weight: bold; }
td.period { text-align: left; color: #444; }
td.left { text-align: left; white-space: normal; }
tbody tr:first-child td { border-top: 1px solid #d5d9de; }
tbody tr.earlier td { color: #6b7079; }
tbody tr.earlier td.name { color: #222; }
tr.level-unit td.name { padding-left: 4mm; font-weight: normal; }
tr.level-queue td.name { padding-left: 8mm; font-weight: normal; font-style: italic; }
tr.level-total td.name, tr.level-area td.name { font-weight: bold; }
tr.level-pathway td.name { font-weight: normal; }
span.detail { font-size: 7.5pt; font-weight: normal; font-style: italic; color: #444; }
th:first-child { width: 27%; }
table.config td:first-child { width: 30%; white-space: nowrap; }
p.term { margin: 0 0 1.2mm; font-size: 8.5pt; }
td.small { font-size: 7.5pt; white-space: normal; text-align: left; color: #555; }
.met { color: #2e7d32; font-weight: bold; }
.missed { color: #c62828; font-weight: bold; }
.muted { color: #6b7079; }
.charts figure { margin: 0 0 4mm; break-inside: avoid; }
.charts figcaption { font-size: 8pt; color: #6b7079; margin-top: 0.5mm; }
svg.chart { max-width: 100%; height: auto; }
footer { margin-top: 6mm; border-top: 1px solid #d5d9de; padding-top: 2mm; color: #6b7079;
  font-size: 8pt; }
"""


# --- number formats ---------------------------------------------------------------------------


def integer(value: int | None) -> str:
    return DASH if value is None else f"{value:,}".replace(",", "\u202f")


def pct(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f} %"


def seconds(value: float | None) -> str:
    return DASH if value is None else f"{value:.0f} s"


def score(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


def short_month(label: str) -> str:
    return Month.parse(label).name[:3] + " " + label[:4]


def status(met: bool | None) -> str:
    if met is None:
        return ""
    return '<span class="met">met</span>' if met else '<span class="missed">not met</span>'


# --- tables -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    cell: Callable[[Any], str]  # figures of one period -> cell HTML (already escaped)
    left: bool = False
    month_only: bool = False  # filled on the month's row only


@dataclass(frozen=True, slots=True)
class Entity:
    name: str
    level: str  # total, area, unit, queue, pathway
    figures: tuple[Any, Any, Any]  # month, previous month, year before (None: no data)
    target: str = ""  # the target cell of the month row
    met: bool | None = None
    detail: str = ""  # a second, smaller line under the name


def comparison_table(
    report: MonthlyReport, first: str, columns: Sequence[Column], entities: Sequence[Entity]
) -> str:
    labels = [short_month(p) for p in (report.month, report.previous_month, report.year_before)]
    has_target = any(e.target for e in entities)
    head = [f'<th class="left">{escape(first)}</th>', '<th class="left">Month</th>']
    head += [f"<th{' class=left' if c.left else ''}>{c.header}</th>" for c in columns]
    if has_target:
        head.append("<th>Target</th>")
    rows = [f"<table><thead><tr>{''.join(head)}</tr></thead>"]
    for entity in entities:
        rows.append("<tbody>")
        for n, (label, figures) in enumerate(zip(labels, entity.figures, strict=True)):
            css = f"level-{entity.level}" + ("" if n == 0 else " earlier")
            cells = [
                f'<td class="name">{_name(entity)}</td>' if n == 0 else '<td class="name"></td>',
                f'<td class="period">{label}</td>',
            ]
            for column in columns:
                value = column.cell(figures) if figures is not None else DASH
                if column.month_only and n > 0:
                    value = ""
                cells.append(f"<td{' class=small' if column.left else ''}>{value}</td>")
            if has_target:
                target = f"{entity.target} {status(entity.met)}" if n == 0 else ""
                cells.append(f"<td>{target}</td>")
            rows.append(f'<tr class="{css}">{"".join(cells)}</tr>')
        rows.append("</tbody>")
    rows.append("</table>")
    return "".join(rows)


def _name(entity: Entity) -> str:
    if not entity.detail:
        return escape(entity.name)
    return f'{escape(entity.name)}<br><span class="detail">{escape(entity.detail)}</span>'


CHAT_COLUMNS = (
    Column("Offered", lambda f: integer(f.offered)),
    Column("Answered", lambda f: integer(f.answered)),
    Column("Service level", lambda f: pct(f.service_level)),
    Column("ASA", lambda f: seconds(f.asa_seconds)),
    Column("Abandon rate", lambda f: pct(f.abandon_rate)),
    Column("Resolved", lambda f: pct(f.resolved_rate)),
)


def _nps_cell(f: Any) -> str:
    if f.suppressed:
        return '<span class="muted">suppressed</span>'
    return score(f.nps)


def _interval(f: Any) -> str:
    if f.ci95_lower is None or f.ci95_upper is None:
        return DASH
    return f"{f.ci95_lower:.1f} … {f.ci95_upper:.1f}"


NPS_COLUMNS = (
    Column("NPS", _nps_cell),
    Column("95 % interval", _interval),
    Column("Responses", lambda f: integer(f.responses)),
    Column("Sent", lambda f: integer(f.surveys_sent)),
    Column("Response rate", lambda f: pct(f.response_rate)),
)


def _channels(f: Any) -> str:
    total = f.contacts or 1
    parts = sorted(f.by_channel.items(), key=lambda item: (-item[1], item[0]))
    return " · ".join(
        f"{escape(CHANNEL_NAMES.get(c, c))} {n / total * 100:.0f} %" for c, n in parts
    )


SHARE_COLUMNS = (
    Column("Contacts", lambda f: integer(f.contacts)),
    Column("Digital", lambda f: integer(f.digital_contacts)),
    Column("Digital share", lambda f: pct(f.digital_share)),
    Column("Channels in the month (share of contacts)", _channels, left=True, month_only=True),
)


def _thumbs(f: Any) -> str:
    given = f.thumbs_up + f.thumbs_down
    return DASH if not given else f"{f.thumbs_up / given * 100:.0f} % of {given}"


PATHWAY_COLUMNS = (
    Column("Starts", lambda f: integer(f.starts)),
    Column("Completions", lambda f: integer(f.completions)),
    Column("Discontinued", lambda f: integer(f.discontinued)),
    Column("Active at end", lambda f: integer(f.active)),
    Column("Completion rate", lambda f: pct(f.completion_rate)),
    Column("Thumbs up", _thumbs),
)


def _three(comparison: Any) -> tuple[Any, Any, Any]:
    return comparison.month, comparison.previous_month, comparison.year_before


def chat_entity(name: str, level: str, chat: ChatComparison, detail: str = "") -> Entity:
    return Entity(
        name,
        level,
        _three(chat),
        f"≥ {chat.service_level_target * 100:.0f} %",
        chat.service_level_target_met,
        detail,
    )


def nps_entity(name: str, level: str, nps: NpsComparison) -> Entity:
    target = f"≥ {nps.target:.0f}" if nps.target is not None else ""
    return Entity(name, level, _three(nps), target, nps.target_met)


def share_entity(name: str, level: str, share: ShareComparison) -> Entity:
    return Entity(name, level, _three(share), f"≥ {share.target * 100:.0f} %", share.target_met)


def pathway_entity(level: str, pathway: PathwayComparison) -> Entity:
    return Entity(pathway.name, "pathway", _three(pathway))


# --- sections ---------------------------------------------------------------------------------


def summary(report: MonthlyReport) -> str:
    total = report.total
    labels = [short_month(p) for p in (report.month, report.previous_month, report.year_before)]
    rows: list[tuple[str, tuple[str, str, str], str, bool | None]] = []

    def add(
        name: str, comparison: Any, cell: Callable[[Any], str], target: str = "", met: Any = None
    ) -> None:
        values = tuple(cell(f) if f is not None else DASH for f in _three(comparison))
        rows.append((name, (values[0], values[1], values[2]), target, met))

    if total.chat:
        chat = total.chat
        add("Chats offered", chat, lambda f: integer(f.offered))
        add(
            "Chat service level",
            chat,
            lambda f: pct(f.service_level),
            f"≥ {chat.service_level_target * 100:.0f} %",
            chat.service_level_target_met,
        )
        add("Average speed of answer", chat, lambda f: seconds(f.asa_seconds))
        add("Chat abandon rate", chat, lambda f: pct(f.abandon_rate))
        add("Chats resolved", chat, lambda f: pct(f.resolved_rate))
    if total.chatbot:
        add("Chatbot conversations", total.chatbot, lambda f: integer(f.sessions))
        add("Chatbot containment", total.chatbot, lambda f: pct(f.containment))
    if total.nps:
        add("NPS", total.nps, _nps_cell, "per unit", None)
        add("NPS 95 % interval", total.nps, _interval)
        add("Survey responses", total.nps, lambda f: integer(f.responses))
        add("Response rate", total.nps, lambda f: pct(f.response_rate))
    if total.pathways:
        add("Pathway starts", total.pathways, lambda f: integer(f.starts))
        add("Pathway completions", total.pathways, lambda f: integer(f.completions))
    if total.digital_share:
        share = total.digital_share
        add("Contacts", share, lambda f: integer(f.contacts))
        add(
            "Digital share of contacts",
            share,
            lambda f: pct(f.digital_share),
            f"≥ {share.target * 100:.0f} %",
            share.target_met,
        )
    if not rows:
        return '<p class="muted">No data for this month, the month before or a year before.</p>'
    head = "".join(f"<th>{label}</th>" for label in labels)
    body = "".join(
        f'<tr><td class="left">{escape(name)}</td>'
        + "".join(f"<td>{v}</td>" for v in values)
        + f"<td>{escape(target)}</td><td>{status(met)}</td></tr>"
        for name, values, target, met in rows
    )
    return (
        f'<table class="summary"><thead><tr><th>{escape(total.name)}</th>{head}'
        f"<th>Target</th><th></th></tr></thead><tbody>{body}</tbody></table>"
    )


def chart_section(report: MonthlyReport) -> str:
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
    figures = [
        (level, "The month and the 12 before it; dashed: the service-level target."),
        (nps, "Whiskers: 95 % interval; months with too few responses are left out."),
        (share, "Contacts in the digital channels ÷ all contacts; dashed: the national target."),
        (
            unit_nps_chart(report),
            f"{short_month(report.month)}: each unit's NPS against its own target; units "
            "with too few responses show their count only.",
        ),
        (channel_chart(report), f"{short_month(report.month)}, all units in this report."),
    ]
    return "".join(
        f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>"
        for svg, caption in figures
    )


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


def area_section(report: MonthlyReport, area: ServiceAreaReport) -> str:
    parts = [f'<section class="area"><h2>{escape(area.name)}</h2>']
    chat: list[Entity] = []
    for unit in area.units:
        if unit.chat is None:
            continue
        if len(unit.queues) == 1:  # the unit is its queue: one row, named after both
            (queue,) = unit.queues
            detail = f"{queue.name} ({queue.service_level_seconds} s)"
            chat.append(chat_entity(unit.name, "unit", unit.chat, detail))
            continue
        chat.append(chat_entity(unit.name, "unit", unit.chat))
        chat.extend(
            chat_entity(f"{q.name} ({q.service_level_seconds} s)", "queue", q.chat)
            for q in unit.queues
        )
    units_with_chat = sum(1 for u in area.units if u.chat)
    if area.chat and units_with_chat > 1:
        chat.insert(0, chat_entity(f"{area.name}, all queues", "area", area.chat))
    if chat:
        parts.append("<h3>Chat</h3>")
        parts.append(comparison_table(report, "Unit, queue", CHAT_COLUMNS, chat))
    nps = [nps_entity(u.name, "unit", u.nps) for u in area.units if u.nps]
    if area.nps and len(nps) > 1:
        nps.insert(0, nps_entity(f"{area.name}, all units", "area", area.nps))
    if nps:
        parts.append("<h3>Customer feedback (NPS)</h3>")
        parts.append(comparison_table(report, "Unit", NPS_COLUMNS, nps))
    share = [share_entity(u.name, "unit", u.digital_share) for u in area.units if u.digital_share]
    if area.digital_share and len(share) > 1:
        share.insert(0, share_entity(f"{area.name}, all units", "area", area.digital_share))
    if share:
        parts.append("<h3>Digital share of contacts</h3>")
        parts.append(comparison_table(report, "Unit", SHARE_COLUMNS, share))
    if area.pathways:
        parts.append("<h3>Digital care pathways</h3>")
        pathways = [pathway_entity("pathway", p) for p in area.pathways]
        parts.append(comparison_table(report, "Pathway", PATHWAY_COLUMNS, pathways))
    parts.append("</section>")
    return "".join(parts)


def configuration(report: MonthlyReport) -> str:
    d = report.definitions
    queues = ", ".join(f"{q} {s} s" for q, s in d.service_level_seconds.items()) or DASH
    short = ", ".join(f"{q} {s} s" for q, s in d.short_abandon_seconds.items()) or DASH
    targets = ", ".join(f"{u} {t:.0f}" for u, t in report.targets.nps_by_unit.items()) or DASH
    items = [
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
    rows = "".join(
        f'<tr><td class="left">{escape(k)}</td><td class="left">{escape(v)}</td></tr>'
        for k, v in items
    )
    terms = "".join(
        f'<p class="term"><b>{escape(t.term)}.</b> {escape(t.text)}</p>' for t in d.terms
    )
    return (
        '<section class="definitions"><h2>Definitions and configuration</h2>'
        f'<table class="config"><tbody>{rows}</tbody></table>'
        f"{terms}</section>"
    )


def render(report: MonthlyReport) -> str:
    month = Month.parse(report.month)
    compared = (
        f"Compared with {Month.parse(report.previous_month).name} and "
        f"{Month.parse(report.year_before).name}"
    )
    areas = "".join(area_section(report, a) for a in report.service_areas)
    if not report.service_areas:
        areas = '<p class="muted">No service area has data for these months.</p>'
    generated = report.metadata.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Kanava \u2013 {escape(report.title)}</title><style>{CSS}</style></head><body>"
        '<header><p class="brand">KANAVA · DIGITAL CHANNELS OF THE WELLBEING SERVICES COUNTY</p>'
        f"<h1>{escape(report.title)}</h1>"
        f'<p class="meta">{escape(compared)}. Scope: {escape(report.scope.description)}.</p>'
        f'<p class="meta">Formula version {escape(report.definitions.formula_version)}.</p>'
        "</header>"
        f"<section><h2>Summary, {escape(month.name)}</h2>{summary(report)}</section>"
        f'<section class="charts"><h2>Trends and charts</h2>{chart_section(report)}</section>'
        f"{areas}{configuration(report)}"
        f"<footer>Generated {escape(generated)} by {escape(report.metadata.generator)}. "
        "The figures depend only on the month and the stored data.</footer>"
        "</body></html>\n"
    )
