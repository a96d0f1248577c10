"""GET /v1/pathways/stats (docs/api.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.gateway.auth.dependencies import Reader
from services.gateway.context import Connection, Context
from services.gateway.pathways import repository
from services.gateway.pathways.schemas import PathwayRows
from services.gateway.pathways.service import stats_row
from services.gateway.periods import Selected
from services.gateway.scope import visible_units

router = APIRouter(prefix="/v1/pathways", tags=["pathways"])
ByPathway = Annotated[str | None, Query(pattern="^pathway$")]


@router.get("/stats", response_model=PathwayRows)
async def pathway_stats(
    ctx: Context, who: Reader, sel: Selected, conn: Connection, by: ByPathway = None
) -> PathwayRows:
    """Starts, endings and thumbs per period; `active`: enrolments started and not ended at
    the end of the period; completion_rate = completions / (completions + discontinued)."""
    units = visible_units(ctx, who, sel)
    by_pathway = by == "pathway" or sel.pathway_id is not None
    sums = await repository.pathway_sums(conn, sel, units, by_pathway)
    active = await repository.active_at_period_end(conn, sel, units, by_pathway)
    return PathwayRows(
        rows=[stats_row(r, active.get((r.period, r.key), 0), by_pathway) for r in sums]
    )
