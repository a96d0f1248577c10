"""SQL of the digital-share endpoint and the monthly report: the table contact_metrics keeps."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.periods import Selection
from services.gateway.sql import per_period, sums, unit_filter


async def channel_counts(
    conn: AsyncConnection, sel: Selection, units: list[str] | None, by_unit: bool
) -> dict[tuple[str, str | None], dict[str, int]]:
    """Contacts per (period, unit or None) and channel, periods and units in order; only
    channels with contacts."""
    key = "unit_id" if by_unit else None
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
    by_channel: dict[tuple[str, str | None], dict[str, int]] = defaultdict(dict)
    for r in rows:
        if r.contacts:
            by_channel[(r.period, r.key)][r.channel] = r.contacts
    return by_channel
