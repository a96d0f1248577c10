"""GET /v1/contacts/digital-share (docs/api.md)."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.auth.dependencies import Reader
from services.gateway.context import GatewayContext, context
from services.gateway.periods import Selected, Selection
from services.gateway.scope import visible_units
from services.gateway.sql import sums

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])
Context = Annotated[GatewayContext, Depends(context)]


class ShareRow(BaseModel):
    period: str
    unit_id: str | None = None
    contacts: int
    digital_contacts: int
    digital_share: float | None
    by_channel: dict[str, int]


class ShareRows(BaseModel):
    rows: list[ShareRow]
    digital_channels: list[str]


@router.get("/digital-share", response_model=ShareRows)
async def digital_share(
    ctx: Context,
    who: Reader,
    sel: Selected,
    by: Annotated[str | None, Query(pattern="^unit$")] = None,
) -> ShareRows:
    """Contacts in the configured digital channels / all contacts, per period (docs/metrics.md)."""
    units = visible_units(ctx, who, sel)
    by_unit = by == "unit" or sel.unit_id is not None
    async with ctx.engine.connect() as conn:
        by_channel = await channel_counts(conn, sel, units, by_unit)
    digital = ctx.settings.digital_channels
    return ShareRows(
        rows=[
            share_row(period, key if by_unit else None, channels, digital)
            for (period, key), channels in by_channel.items()
        ],
        digital_channels=list(digital),
    )


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


def share_row(
    period: str, unit_id: str | None, channels: dict[str, int], digital: tuple[str, ...]
) -> ShareRow:
    total = sum(channels.values())
    in_digital = sum(n for channel, n in channels.items() if channel in digital)
    return ShareRow(
        period=period,
        unit_id=unit_id,
        contacts=total,
        digital_contacts=in_digital,
        digital_share=in_digital / total if total else None,
        by_channel=channels,
    )
