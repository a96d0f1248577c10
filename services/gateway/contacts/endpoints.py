"""GET /v1/contacts/digital-share (docs/api.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.gateway.auth.dependencies import Reader
from services.gateway.contacts import repository
from services.gateway.contacts.schemas import ShareRows
from services.gateway.contacts.service import share_row
from services.gateway.context import Connection, Context
from services.gateway.periods import Selected
from services.gateway.scope import visible_units

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])
ByUnit = Annotated[str | None, Query(pattern="^unit$")]


@router.get("/digital-share", response_model=ShareRows)
async def digital_share(
    ctx: Context, who: Reader, sel: Selected, conn: Connection, by: ByUnit = None
) -> ShareRows:
    """Contacts in the configured digital channels / all contacts, per period (docs/metrics.md)."""
    units = visible_units(ctx, who, sel)
    by_unit = by == "unit" or sel.unit_id is not None
    by_channel = await repository.channel_counts(conn, sel, units, by_unit)
    digital = ctx.settings.digital_channels
    return ShareRows(
        rows=[
            share_row(period, key if by_unit else None, channels, digital)
            for (period, key), channels in by_channel.items()
        ],
        digital_channels=list(digital),
    )
