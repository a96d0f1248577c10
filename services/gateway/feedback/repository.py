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
