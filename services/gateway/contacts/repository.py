"""SQL of the digital-share endpoint and the monthly report: the tables contact_metrics keeps.

Recorded contacts (`contact_daily`) and monthly counts made elsewhere (`contact_month_counts`)
combine per unit and month, never both (docs/metrics.md, "Monthly contact counts"): a unit's
month with a recorded contact has those as its figures, its imported counts are ignored; a
month without has its imported counts (the view `contact_month_counts_used`, migration 0015,
which the monthly-report dashboard reads too). Counts have no days, so they answer whole months
only: in `month` and `total` rows, for the months the range covers from first to last day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.months import whole_months
from services.gateway.periods import Selection
from services.gateway.sql import per_period, sums, unit_filter

ByChannel = dict[tuple[str, str | None], dict[str, int]]

_BY_MONTH = """
WITH recorded AS (
    SELECT date_trunc('month', day)::date AS month, unit_id, channel, sum(contacts) AS contacts
    FROM contact_daily WHERE day BETWEEN :first AND :last{units}
    GROUP BY 1, 2, 3
), counted AS (
    SELECT month, unit_id, channel, sum(contacts) AS contacts
    FROM contact_month_counts_used
    WHERE month BETWEEN :first_whole AND :last_whole{units}
    GROUP BY 1, 2, 3
)
SELECT {columns}, channel, sum(contacts)::bigint AS contacts
FROM (SELECT * FROM recorded UNION ALL SELECT * FROM counted) AS figures
GROUP BY {group}, channel ORDER BY {group}, channel
"""


async def channel_counts(
    conn: AsyncConnection, sel: Selection, units: list[str] | None, by_unit: bool
) -> ByChannel:
    """Contacts per (period, unit or None) and channel, periods and units in order; only
    channels with contacts."""
    key = "unit_id" if by_unit else None
    if sel.granularity == "day":
        rows = await per_period(
            conn,
            sel,
            "contact_daily",
            sums("contacts"),
            key,
            unit_filter(units),
            {"units": units},
            then_by="channel",
        )
    else:
        rows = await _by_month(conn, sel, units, key)
    by_channel: ByChannel = defaultdict(dict)
    for r in rows:
        if r.contacts:
            by_channel[(r.period, r.key)][r.channel] = r.contacts
    return by_channel


async def _by_month(
    conn: AsyncConnection, sel: Selection, units: list[str] | None, key: str | None
) -> Sequence[Row[Any]]:
    columns, group = sel.grouping("month", key)
    query = _BY_MONTH.format(units=unit_filter(units), columns=columns, group=group)
    first_whole, last_whole = whole_months(sel.first, sel.last)
    params = {
        "first": sel.first,
        "last": sel.last,
        "first_whole": first_whole,
        "last_whole": last_whole,
        "units": units,
    }
    return (await conn.execute(text(query), params)).all()
