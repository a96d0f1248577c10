"""The feedback endpoints' rows, built from the summed counts (docs/metrics.md, Feedback)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from services.common import formulas
from services.common.months import Month
from services.common.nps import Responses
from services.common.nps_drop import DayCounts, Evening, evenings
from services.gateway.feedback.repository import (
    Answer,
    Comment,
    StatementSums,
    Suppressed,
    SurveyCounts,
)
from services.gateway.feedback.schemas import (
    CommentOut,
    NpsFigures,
    NpsRow,
    StatementRow,
    Suppression,
)
from services.gateway.periods import Selection
from services.gateway.sql import Sums

RowKey = tuple[str, str]  # (period, unit) of a unit's row


def nps_figures(c: SurveyCounts, min_responses: int) -> NpsFigures:
    """NPS and its interval, left out (`suppressed`) below `min_responses` responses."""
    responses = Responses(c.promoters, c.passives, c.detractors)
    shown = responses.count >= min_responses
    interval = responses.ci95() if shown else None
    return NpsFigures(
        surveys_sent=c.surveys_sent,
        delivery_failed=c.delivery_failed,
        responses=responses.count,
        promoters=c.promoters,
        passives=c.passives,
        detractors=c.detractors,
        nps=responses.nps if shown else None,
        ci95_lower=interval[0] if interval else None,
        ci95_upper=interval[1] if interval else None,
        response_rate=formulas.response_rate(responses.count, c.surveys_sent, c.delivery_failed),
        suppressed=not shown,
    )


def nps_row(
    row: Sums[SurveyCounts], min_responses: int, by_unit: bool, drops: Mapping[RowKey, Evening]
) -> NpsRow:
    figures = nps_figures(row.counts, min_responses)
    unit_id = row.key if by_unit else None
    drop = drops[(row.period, unit_id)] if unit_id is not None else None
    return NpsRow(
        **dict(figures),
        period=row.period,
        unit_id=unit_id,
        drop_alarm=drop.alarm if drop else None,
        drop_since=drop.since if drop else None,
        drop_method=drop.method if drop else None,
    )


def evening_day(period: str, sel: Selection, today: date) -> date:
    """The day whose evening a row shows: the period's last day, not after the range's `to`
    nor today."""
    if sel.granularity == "day":
        end = date.fromisoformat(period)
    elif sel.granularity == "month":
        end = Month.parse(period).last
    else:
        end = sel.last
    return min(end, sel.last, today)


def evening_days(
    rows: Iterable[Sums[SurveyCounts]], sel: Selection, today: date
) -> dict[RowKey, date]:
    """The day whose evening each unit's row shows; rows of no one unit have none."""
    return {(r.period, r.key): evening_day(r.period, sel, today) for r in rows if r.key is not None}


def last_days(days: Mapping[RowKey, date]) -> dict[str, date]:
    """Per unit, the last day whose evening its rows show."""
    last: dict[str, date] = {}
    for (_, unit), day in days.items():
        last[unit] = max(day, last.get(unit, day))
    return last


def drop_evenings(
    history: Mapping[str, Sequence[DayCounts]], days: Mapping[RowKey, date]
) -> dict[RowKey, Evening]:
    """The NPS-drop detector's evening of each row's day, from its unit's whole history."""
    by_day = {
        unit: {e.day: e for e in evenings(history.get(unit, ()), until)}
        for unit, until in last_days(days).items()
    }
    return {(p, u): by_day[u].get(day) or no_responses(day) for (p, u), day in days.items()}


def no_responses(day: date) -> Evening:
    """The evening of a day before the unit's first: the detector's for a day without any
    responses."""
    return evenings([DayCounts(day, 0, 0, 0)])[0]


def too_few_responses(responses: dict[str, int], min_responses: int) -> list[str]:
    """The units whose comments are left out, in order."""
    return sorted(unit for unit, n in responses.items() if n < min_responses)


def comment_out(c: Comment) -> CommentOut:
    return CommentOut(
        date=c.day, unit_id=c.unit_id, service_area=c.service_area, score=c.score, text=c.text
    )


def suppression(recipient: str, found: Suppressed | None) -> Suppression:
    if found is None:
        return Suppression(recipient=recipient, suppressed=False, since=None, reason=None)
    return Suppression(recipient=recipient, suppressed=True, since=found.since, reason=found.reason)


def statement_row(row: StatementSums, min_responses: int) -> StatementRow:
    """A statement's answers; the mean left out (`suppressed`) below `min_responses`, as NPS."""
    distribution = {str(v): getattr(row.counts, f"answered_{v}") for v in range(1, 6)}
    n = sum(distribution.values())
    shown = n >= min_responses
    total = sum(int(value) * count for value, count in distribution.items())
    return StatementRow(
        period=row.period,
        unit_id=row.unit_id,
        statement=row.statement,
        responses=n,
        distribution=distribution,
        mean=total / n if shown else None,
        suppressed=not shown,
    )


ANSWER_COLUMNS = ("date", "unit_id", "service_area", "code", "value")


def answers_csv(answers: Iterable[Answer]) -> str:
    """The export: a header, then a line per answer (RFC 4180, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ANSWER_COLUMNS)
    writer.writerows(
        (a.day.isoformat(), a.unit_id, a.service_area, a.code, a.value) for a in answers
    )
    return out.getvalue()
