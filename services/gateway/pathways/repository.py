"""SQL of the pathway endpoint and the monthly report: the tables pathway_metrics keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.periods import Selection
from services.gateway.sql import Counts, Sums, per_period, unit_filter


@dataclass(frozen=True, slots=True)
class PathwayCounts(Counts):
    """The columns of pathway_daily."""

    starts: int
    completions: int
    discontinued: int
    thumbs_up: int
    thumbs_down: int


def _where(sel: Selection, units: list[str] | None) -> str:
    return unit_filter(units) + (" AND pathway_id = :pathway" if sel.pathway_id else "")


def _params(sel: Selection, units: list[str] | None) -> dict[str, date | str | list[str] | None]:
    return {"first": sel.first, "last": sel.last, "units": units, "pathway": sel.pathway_id}


async def pathway_sums(
    conn: AsyncConnection, sel: Selection, units: list[str] | None, by_pathway: bool
) -> list[Sums[PathwayCounts]]:
    key = "pathway_id" if by_pathway else None
    where, params = _where(sel, units), _params(sel, units)
    rows = await per_period(conn, sel, "pathway_daily", PathwayCounts.summed(), key, where, params)
    return [Sums(r.period, r.key, PathwayCounts.of(r)) for r in rows]


async def active_at_period_end(
    conn: AsyncConnection, sel: Selection, units: list[str] | None, by_pathway: bool
) -> dict[tuple[str, str | None], int]:
    """Enrolments active at the end of each period (the last day of the period in range)."""
    key = "e.pathway_id" if by_pathway else "NULL::text"
    ends = (
        "SELECT d::date AS period_end FROM generate_series(CAST(:first AS date), "
        "CAST(:last AS date), interval '1 day') d"
    )
    rows = await conn.execute(
        text(
            f"WITH days AS ({ends}), periods AS (SELECT {sel.period_sql('period_end')} AS period, "
            "max(period_end) AS period_end FROM days GROUP BY 1) "
            f"SELECT p.period, {key} AS key, count(e.enrolment_id) AS n FROM periods p "
            "JOIN pathway_enrolments e ON e.started_day <= p.period_end "
            "AND (e.ended_day IS NULL OR e.ended_day > p.period_end) "
            f"WHERE TRUE{_where(sel, units).replace('unit_id', 'e.unit_id')} "
            "GROUP BY 1, 2"
        ),
        _params(sel, units),
    )
    return {(r.period, r.key): r.n for r in rows}
