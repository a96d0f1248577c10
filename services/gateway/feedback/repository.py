"""SQL of the feedback endpoints and the monthly report: the tables feedback_ingest keeps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.nps_drop import DayCounts
from services.gateway.periods import Selection
from services.gateway.sql import Counts, Sums, per_period, sums, unit_filter


@dataclass(frozen=True, slots=True)
class SurveyCounts(Counts):
    """The columns of feedback_unit_daily, by the day the survey was sent."""

    surveys_sent: int
    delivery_failed: int
    promoters: int
    passives: int
    detractors: int


class Comment(NamedTuple):
    day: date
    unit_id: str
    service_area: str
    score: int | None
    text: str


class Suppressed(NamedTuple):
    since: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class StatementCounts(Counts):
    """Answers to one statement of the national model (1-5): how many gave each value."""

    answered_1: int
    answered_2: int
    answered_3: int
    answered_4: int
    answered_5: int


class StatementSums(NamedTuple):
    period: str
    unit_id: str | None
    statement: str
    counts: StatementCounts


class Answer(NamedTuple):
    """One answer of the export: no survey, no recipient."""

    day: date
    unit_id: str
    service_area: str
    code: str  # `nps`, or the statement's code
    value: int


# Each statement answered in a survey, one row each, by the day the survey was sent
# (migration 0013).
_STATEMENT_ANSWERS = "feedback_statement_answers"


async def nps_sums(
    conn: AsyncConnection, sel: Selection, units: list[str] | None, by_unit: bool
) -> list[Sums[SurveyCounts]]:
    key = "unit_id" if by_unit else None
    where, params = unit_filter(units), {"units": units}
    rows = await per_period(
        conn, sel, "feedback_unit_daily", SurveyCounts.summed(), key, where, params
    )
    return [Sums(r.period, r.key, SurveyCounts.of(r)) for r in rows]


async def responses_by_unit(
    conn: AsyncConnection, sel: Selection, units: list[str] | None
) -> dict[str, int]:
    rows = await conn.execute(
        text(
            f"SELECT unit_id, {sums(n='promoters + passives + detractors')} "
            "FROM feedback_unit_daily WHERE day BETWEEN :first AND :last"
            f"{unit_filter(units)} GROUP BY unit_id"
        ),
        {"first": sel.first, "last": sel.last, "units": units},
    )
    return {r.unit_id: r.n for r in rows}


async def daily_responses(
    conn: AsyncConnection, until: Mapping[str, date]
) -> dict[str, list[DayCounts]]:
    """The NPS-drop detector's input (docs/nps-drop.md): each unit's responses per day, summed
    over service areas, from its first day to the last day of `until` (unit: last day needed)."""
    if not until:
        return {}
    rows = await conn.execute(
        text(
            f"SELECT unit_id, day, {sums('promoters', 'passives', 'detractors')} "
            "FROM feedback_unit_daily WHERE day <= :last AND unit_id = ANY(CAST(:units AS text[])) "
            "GROUP BY unit_id, day ORDER BY unit_id, day"
        ),
        {"last": max(until.values()), "units": sorted(until)},
    )
    history: dict[str, list[DayCounts]] = {}
    for r in rows:
        counts = DayCounts(r.day, r.promoters, r.passives, r.detractors)
        history.setdefault(r.unit_id, []).append(counts)
    return history


async def comments(
    conn: AsyncConnection, sel: Selection, units: list[str], limit: int
) -> list[Comment]:
    rows = await conn.execute(
        text(
            "SELECT day, unit_id, service_area, score, text FROM feedback_comments "
            "WHERE day BETWEEN :first AND :last AND unit_id = ANY(CAST(:units AS text[])) "
            "ORDER BY time DESC, event_id LIMIT :limit"
        ),
        {"first": sel.first, "last": sel.last, "units": units, "limit": limit},
    )
    return [Comment(r.day, r.unit_id, r.service_area, r.score, r.text) for r in rows]


async def suppression(conn: AsyncConnection, recipient: str) -> Suppressed | None:
    rows = await conn.execute(
        text("SELECT since, reason FROM feedback_suppressions WHERE recipient = :r"),
        {"r": recipient},
    )
    row = rows.one_or_none()
    return None if row is None else Suppressed(row.since, row.reason)


async def suppress(conn: AsyncConnection, recipient: str, reason: str) -> Suppressed:
    """Suppress from now on, or keep the earlier suppression; the row as it now stands."""
    rows = await conn.execute(
        text(
            "INSERT INTO feedback_suppressions (recipient, since, reason) "
            "VALUES (:r, now(), :reason) "
            "ON CONFLICT (recipient) DO UPDATE SET recipient = EXCLUDED.recipient "
            "RETURNING since, reason"
        ),
        {"r": recipient, "reason": reason},
    )
    row = rows.one()
    return Suppressed(row.since, row.reason)


async def statement_sums(
    conn: AsyncConnection, sel: Selection, units: list[str] | None, by_unit: bool
) -> list[StatementSums]:
    """Per period (and unit) and statement: how many answered each value."""
    select = sums(**{f"answered_{v}": f"(value = {v})::int" for v in range(1, 6)})
    rows = await per_period(
        conn,
        sel,
        _STATEMENT_ANSWERS,
        select,
        "unit_id" if by_unit else None,
        unit_filter(units),
        {"units": units},
        then_by="statement",
    )
    return [StatementSums(r.period, r.key, r.statement, StatementCounts.of(r)) for r in rows]


async def answers(conn: AsyncConnection, sel: Selection, units: list[str] | None) -> list[Answer]:
    """Every NPS score and statement answer of the surveys sent in the range."""
    rows = await conn.execute(
        text(
            "SELECT sent_day AS day, unit_id, service_area, 'nps' AS code, score AS value "
            "FROM feedback_survey_results WHERE score IS NOT NULL "
            f"AND sent_day BETWEEN :first AND :last{unit_filter(units)} "
            "UNION ALL "
            f"SELECT day, unit_id, service_area, statement, value FROM {_STATEMENT_ANSWERS} "
            f"WHERE day BETWEEN :first AND :last{unit_filter(units)} "
            "ORDER BY day, unit_id, service_area, code, value"
        ),
        {"first": sel.first, "last": sel.last, "units": units},
    )
    return [Answer(*r) for r in rows]
