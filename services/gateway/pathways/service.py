"""The pathway endpoint's rows, built from the summed counts (docs/metrics.md, Pathways)."""

from __future__ import annotations

from services.common import formulas
from services.gateway.pathways.repository import PathwayCounts
from services.gateway.pathways.schemas import PathwayRow
from services.gateway.sql import Sums


def stats_row(row: Sums[PathwayCounts], active: int, by_pathway: bool) -> PathwayRow:
    """`active`: the enrolments active at the end of the period."""
    c = row.counts
    return PathwayRow(
        period=row.period,
        pathway_id=row.key if by_pathway else None,
        starts=c.starts,
        completions=c.completions,
        discontinued=c.discontinued,
        active=active,
        completion_rate=formulas.completion_rate(c.completions, c.discontinued),
        thumbs_up=c.thumbs_up,
        thumbs_down=c.thumbs_down,
    )
