"""Feedback endpoints: NPS per period, redacted comments, the suppression list (docs/api.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from services.common.hashing import InvalidPhoneNumber, hash_recipient
from services.common.nps import Responses
from services.gateway.auth.dependencies import Ingester, Reader
from services.gateway.body import JsonRoute
from services.gateway.context import GatewayContext, context
from services.gateway.errors import ApiError
from services.gateway.feedback import repository
from services.gateway.feedback.schemas import (
    CommentOut,
    Comments,
    NpsRow,
    NpsRows,
    Suppression,
    SuppressionIn,
)
from services.gateway.periods import Selected
from services.gateway.scope import visible_units

router = APIRouter(prefix="/v1/feedback", tags=["feedback"], route_class=JsonRoute)
Context = Annotated[GatewayContext, Depends(context)]
ByUnit = Annotated[str | None, Query(pattern="^unit$", description="`unit`: a row per unit")]
Recipient = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="HMAC of the number")]


@router.get("/nps", response_model=NpsRows)
async def nps(ctx: Context, who: Reader, sel: Selected, by: ByUnit = None) -> NpsRows:
    """NPS, ci95 and response rate per period, by the day the survey was sent (docs/metrics.md);
    below `min_responses` responses NPS and its interval are left out (`suppressed`)."""
    units = visible_units(ctx, who, sel)
    by_unit = by == "unit" or sel.unit_id is not None
    async with ctx.engine.connect() as conn:
        rows = await repository.nps_sums(conn, sel, units, by_unit)
    least = ctx.settings.min_responses
    return NpsRows(rows=[nps_row(r, least, by_unit) for r in rows], min_responses=least)


def nps_row(r: Any, min_responses: int, by_unit: bool) -> NpsRow:
    responses = Responses(r.promoters, r.passives, r.detractors)
    shown = responses.count >= min_responses
    interval = responses.ci95() if shown else None
    delivered = r.sent - r.failed
    return NpsRow(
        period=r.period,
        unit_id=r.key if by_unit else None,
        surveys_sent=r.sent,
        delivery_failed=r.failed,
        responses=responses.count,
        promoters=r.promoters,
        passives=r.passives,
        detractors=r.detractors,
        nps=responses.nps if shown else None,
        ci95_lower=interval[0] if interval else None,
        ci95_upper=interval[1] if interval else None,
        response_rate=responses.count / delivered if delivered > 0 else None,
        suppressed=not shown,
    )


@router.get("/comments", response_model=Comments)
async def comments(
    ctx: Context,
    who: Reader,
    sel: Selected,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Comments:
    """Redacted comments, newest first; units with fewer than `min_responses` responses in
    the range are left out and named."""
    units = visible_units(ctx, who, sel)
    async with ctx.engine.connect() as conn:
        counts = await repository.responses_by_unit(conn, sel, units)
        small = sorted(u for u, n in counts.items() if n < ctx.settings.min_responses)
        shown = [u for u in counts if u not in small]
        rows = await repository.comments(conn, sel, shown, limit)
    return Comments(
        comments=[CommentOut(date=r.day, **r._mapping) for r in rows], suppressed_units=small
    )


@router.get("/suppressions/{recipient}", response_model=Suppression)
async def suppression(ctx: Context, who: Ingester, recipient: Recipient) -> Suppression:
    """Whether the survey sender may send to this recipient."""
    async with ctx.engine.connect() as conn:
        row = await repository.suppression(conn, recipient)
    if row is None:
        return Suppression(recipient=recipient, suppressed=False, since=None, reason=None)
    return Suppression(recipient=recipient, suppressed=True, since=row.since, reason=row.reason)


@router.post("/suppressions", response_model=Suppression)
async def suppress(ctx: Context, who: Ingester, body: SuppressionIn) -> Suppression:
    """A client refused surveys by telling staff. A phone number is hashed, never stored."""
    recipient = body.recipient
    if body.phone is not None:
        try:
            recipient = hash_recipient(body.phone, ctx.settings.phone_hash_key.get_secret_value())
        except InvalidPhoneNumber as exc:
            raise ApiError(422, "invalid_phone", str(exc)) from None
    assert recipient is not None
    async with ctx.engine.begin() as conn:
        row = await repository.suppress(conn, recipient, body.reason)
    return Suppression(recipient=recipient, suppressed=True, since=row.since, reason=row.reason)
