"""SQL of the digital-share endpoint and the monthly report: the table contact_metrics keeps."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.periods import Selection
from services.gateway.sql import sums


async def channel_counts(
    conn: AsyncConnection, sel: Selection, units: list[str] | None, by_unit: bool
) -> dict[tuple[str, str | None], dict[str, int]]:
    """Contacts per (period, unit or None) and channel, periods and units in order; only
    channels with contacts."""
    columns, group = sel.grouping("day", "unit_id" if by_unit else None)
    where = "" if units is None else " AND unit_id = ANY(CAST(:units AS text[]))"
    rows = await conn.execute(
        text(
            f"SELECT {columns}, channel, {sums('contacts')} FROM contact_daily "
            f"WHERE day BETWEEN :first AND :last{where} "
            f"GROUP BY {group}, channel ORDER BY {group}, channel"
        ),
        {"first": sel.first, "last": sel.last, "units": units},
    )
    by_channel: dict[tuple[str, str | None], dict[str, int]] = defaultdict(dict)
    for r in rows:
        if r.contacts:
            by_channel[(r.period, r.key)][r.channel] = r.contacts
    return by_channel
