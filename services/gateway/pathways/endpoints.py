"""GET /v1/pathways/stats (docs/api.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.auth.dependencies import Reader
from services.gateway.context import GatewayContext, context
from services.gateway.periods import Selected, Selection
from services.gateway.scope import visible_units
from services.gateway.sql import sums

router = APIRouter(prefix="/v1/pathways", tags=["pathways"])
Context = Annotated[GatewayContext, Depends(context)]


class PathwayRow(BaseModel):
    period: str
    pathway_id: str | None = None
    starts: int
    completions: int
    discontinued: int
    active: int
    completion_rate: float | None
    thumbs_up: int
    thumbs_down: int


class PathwayRows(BaseModel):
    rows: list[PathwayRow]


@router.get("/stats", response_model=PathwayRows)
async def pathway_stats(
    ctx: Context,
    who: Reader,
    sel: Selected,
    by: Annotated[str | None, Query(pattern="^pathway$")] = None,
) -> PathwayRows:
    """Starts, endings and thumbs per period; `active`: enrolments started and not ended at
    the end of the period; completion_rate = completions / (completions + discontinued)."""
    units = visible_units(ctx, who, sel)
    by_pathway = by == "pathway" or sel.pathway_id is not None
    async with ctx.engine.connect() as conn:
        sums = await pathway_sums(conn, sel, units, by_pathway)
        active = await active_at_period_end(conn, sel, units, by_pathway)
    return PathwayRows(rows=[stats_row(r, active, by_pathway) for r in sums])


def _where(sel: Selection, units: list[str] | None) -> str:
    where = " AND unit_id = ANY(CAST(:units AS text[]))" if units is not None else ""
    return where + (" AND pathway_id = :pathway" if sel.pathway_id else "")


def _params(sel: Selection, units: list[str] | None) -> dict[str, Any]:
    return {"first": sel.first, "last": sel.last, "units": units, "pathway": sel.pathway_id}


async def pathway_sums(
    conn: AsyncConnection, sel: Selection, units: list[str] | None, by_pathway: bool
) -> list[Any]:
    columns, group = sel.grouping("day", "pathway_id" if by_pathway else None)
    measures = sums("starts", "completions", "discontinued", "thumbs_up", "thumbs_down")
    return list(
        await conn.execute(
            text(
                f"SELECT {columns}, {measures} FROM pathway_daily "
                "WHERE day BETWEEN :first AND :last"
                f"{_where(sel, units)} GROUP BY {group} ORDER BY {group}"
            ),
            _params(sel, units),
        )
    )


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


def stats_row(r: Any, active: dict[tuple[str, str | None], int], by_pathway: bool) -> PathwayRow:
    ended = r.completions + r.discontinued
    return PathwayRow(
        period=r.period,
        pathway_id=r.key if by_pathway else None,
        starts=r.starts,
        completions=r.completions,
        discontinued=r.discontinued,
        active=active.get((r.period, r.key), 0),
        completion_rate=r.completions / ended if ended else None,
        thumbs_up=r.thumbs_up,
        thumbs_down=r.thumbs_down,
    )
