"""The monthly report as one flat CSV table (long format): a row per figure.

Columns:
- section: chat, chatbot, nps, digital_share, pathways, statements (and `report` for the
  periods row);
- level: whose figure it is: total, service_area, unit, queue or pathway;
- service_area_id, unit_id: where it belongs (empty: all, or not in the registry);
- item: the queue or pathway id; in digital_share the channel of a `contacts_in_channel` row;
- name: the readable name of the row's entity (or channel);
- measure: the figure (named as in docs/metrics.md); month, previous_month, year_before: its
  values (empty where there is no data or the figure is suppressed); target and target_met where
  one applies.
A unit's nps section ends with the drop detector's view of the month (docs/nps-drop.md), in
the month column only: drop_alarm_at_month_end, drop_since, drop_days_on and drop_method.
The statements section (the national feedback model) is of the month only: per statement
(item) for all units (level total) and per unit, responses, mean, answered_1 .. answered_5 and
suppressed.
Ratios are fractions (0.8 = 80 %), times seconds, booleans true/false.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from services.common.i18n import N_, Translator, translator
from services.gateway.reports.definitions import channel_name
from services.gateway.reports.schemas import (
    ChatComparison,
    MonthlyReport,
    NpsComparison,
    NpsDrop,
    PathwayComparison,
    ServiceAreaReport,
    ShareComparison,
    StatementFigures,
    TotalReport,
    UnitReport,
)

COLUMNS = (  # the codes; the header row gives them in the report's language
    N_("section"),
    N_("level"),
    N_("service_area_id"),
    N_("unit_id"),
    N_("item"),
    N_("name"),
    N_("measure"),
    N_("month"),
    N_("previous_month"),
    N_("year_before"),
    N_("target"),
    N_("target_met"),
)
CHAT = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "transferred_out",
    "service_level",
    "asa_seconds",
    "abandon_rate",
    "resolved_rate",
)
BOT = ("sessions", "resolved", "containment")
NPS = (
    "surveys_sent",
    "delivery_failed",
    "responses",
    "promoters",
    "passives",
    "detractors",
    "nps",
    "ci95_lower",
    "ci95_upper",
    "response_rate",
    "suppressed",
)
DROP = ("alarm_at_month_end", "since", "days_on", "method")
SHARE = ("contacts", "digital_contacts", "digital_share")
PATHWAY = (
    "starts",
    "completions",
    "discontinued",
    "active",
    "completion_rate",
    "thumbs_up",
    "thumbs_down",
)
STATEMENT = ("responses", "mean", *(f"answered_{v}" for v in range(1, 6)), "suppressed")
Row = tuple[Any, ...]


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(report: MonthlyReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    t = translator(report.metadata.language)
    writer.writerow([t(column) for column in COLUMNS])
    for row in rows(report, t):
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def rows(report: MonthlyReport, t: Translator) -> Iterator[Row]:
    periods = (report.month, report.previous_month, report.year_before)
    yield ("report", "total", None, None, None, report.title, "period", *periods, None, None)
    yield from _total(report.total, t)
    for area in report.service_areas:
        yield from _service_area(area, t)
    for figures in report.statements:
        yield from _statement(figures)


def _total(total: TotalReport, t: Translator) -> Iterator[Row]:
    where: tuple[Any, ...] = ("total", None, None, None, total.name)
    if total.chat:
        yield from _chat(where, total.chat)
    if total.chatbot:
        yield from _measures("chatbot", where, BOT, _three(total.chatbot))
    yield from _figures(where, None, total.nps, total.digital_share, t)
    if total.pathways:
        yield from _pathway(where, total.pathways)


def _service_area(area: ServiceAreaReport, t: Translator) -> Iterator[Row]:
    where = ("service_area", area.service_area_id, None, None, area.name)
    yield from _figures(where, area.chat, area.nps, area.digital_share, t)
    for pathway in area.pathways:
        at = ("pathway", area.service_area_id, None, pathway.pathway_id, pathway.name)
        yield from _pathway(at, pathway)
    for unit in area.units:
        yield from _unit(area, unit, t)


def _unit(area: ServiceAreaReport, unit: UnitReport, t: Translator) -> Iterator[Row]:
    where = ("unit", area.service_area_id, unit.unit_id, None, unit.name)
    yield from _figures(where, unit.chat, unit.nps, unit.digital_share, t)
    for queue in unit.queues:
        at = ("queue", area.service_area_id, unit.unit_id, queue.queue_id, queue.name)
        yield from _chat(at, queue.chat)


def _figures(
    where: tuple[Any, ...],
    chat: ChatComparison | None,
    nps: NpsComparison | None,
    share: ShareComparison | None,
    t: Translator,
) -> Iterator[Row]:
    if chat:
        yield from _chat(where, chat)
    if nps:
        yield from _nps(where, nps)
    if share:
        yield from _share(where, share, t)


def _three(comparison: Any) -> tuple[Any, Any, Any]:
    return comparison.month, comparison.previous_month, comparison.year_before


def _measures(
    section: str,
    where: tuple[Any, ...],
    measures: Sequence[str],
    figures: tuple[BaseModel | None, ...],
    targets: Mapping[str, tuple[float | None, bool | None]] | None = None,
) -> Iterator[Row]:
    for measure in measures:
        values = [getattr(f, measure) if f is not None else None for f in figures]
        target, met = (targets or {}).get(measure, (None, None))
        yield (section, *where, measure, *values, target, met)


def _chat(where: tuple[Any, ...], chat: ChatComparison) -> Iterator[Row]:
    goal = {"service_level": (chat.service_level_target, chat.service_level_target_met)}
    yield from _measures("chat", where, CHAT, _three(chat), goal)


def _nps(where: tuple[Any, ...], nps: NpsComparison) -> Iterator[Row]:
    goal = {"nps": (nps.target, nps.target_met)}
    yield from _measures("nps", where, NPS, _three(nps), goal)
    if nps.drop:
        yield from _drop(where, nps.drop)


def _drop(where: tuple[Any, ...], drop: NpsDrop) -> Iterator[Row]:
    for measure in DROP:
        yield ("nps", *where, f"drop_{measure}", getattr(drop, measure), None, None, None, None)


def _share(where: tuple[Any, ...], share: ShareComparison, t: Translator) -> Iterator[Row]:
    goal = {"digital_share": (share.target, share.target_met)}
    figures = _three(share)
    yield from _measures("digital_share", where, SHARE, figures, goal)
    channels = sorted({c for f in figures if f is not None for c in f.by_channel})
    level, area, unit = where[0], where[1], where[2]
    for channel in channels:
        values = [f.by_channel.get(channel, 0) if f is not None else None for f in figures]
        name = channel_name(t, channel)
        row = (level, area, unit, channel, name, "contacts_in_channel", *values, None, None)
        yield ("digital_share", *row)


def _statement(f: StatementFigures) -> Iterator[Row]:
    answered = {f"answered_{v}": n for v, n in f.distribution.items()}
    values = {"responses": f.responses, "mean": f.mean, "suppressed": f.suppressed, **answered}
    level = "total" if f.unit_id is None else "unit"
    where = (level, None, f.unit_id, f.statement, f.name)
    for measure in STATEMENT:  # the month only: no previous month, year before or target
        yield ("statements", *where, measure, values[measure], None, None, None, None)


def _pathway(where: tuple[Any, ...], pathway: PathwayComparison) -> Iterator[Row]:
    yield from _measures("pathways", where, PATHWAY, _three(pathway))
