"""Feedback endpoints: NPS and the national model's statements per period, the answers for
national reporting, redacted comments, the suppression list (docs/api.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.common.hashing import InvalidPhoneNumber, hash_recipient
from services.gateway.auth.dependencies import Ingester, Reader
from services.gateway.body import JsonRoute
from services.gateway.context import Connection, Context
from services.gateway.errors import ApiError
from services.gateway.feedback import repository, service
from services.gateway.feedback.schemas import (
    Comments,
    NpsRows,
    StatementRows,
    Suppression,
    SuppressionIn,
)
from services.gateway.periods import Selected
from services.gateway.scope import visible_units

router = APIRouter(prefix="/v1/feedback", tags=["feedback"], route_class=JsonRoute)
ByUnit = Annotated[str | None, Query(pattern="^unit$", description="`unit`: a row per unit")]
Recipient = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="HMAC of the number")]


@router.get("/nps", response_model=NpsRows)
async def nps(
    ctx: Context, who: Reader, sel: Selected, conn: Connection, by: ByUnit = None
) -> NpsRows:
    """NPS, ci95 and response rate per period, by the day the survey was sent (docs/metrics.md);
    below `min_responses` responses NPS and its interval are left out (`suppressed`). A unit's
    row also has the NPS-drop detector's evening of the period's last day (docs/nps-drop.md)."""
    units = visible_units(ctx, who, sel)
    by_unit = by == "unit" or sel.unit_id is not None
    rows = await repository.nps_sums(conn, sel, units, by_unit)
    days = service.evening_days(rows, sel, ctx.today())
    history = await repository.daily_responses(conn, service.last_days(days))
    drops = service.drop_evenings(history, days)
    least = ctx.settings.min_responses
    return NpsRows(
        rows=[service.nps_row(r, least, by_unit, drops) for r in rows], min_responses=least
    )


@router.get("/statements", response_model=StatementRows)
async def statements(
    ctx: Context, who: Reader, sel: Selected, conn: Connection, by: ByUnit = None
) -> StatementRows:
    """Answers to the statements of THL's national feedback model per period and statement,
    by the day the survey was sent: how many answered each value 1-5, and their mean, left out
    (`suppressed`) below `min_responses` answers (docs/metrics.md)."""
    units = visible_units(ctx, who, sel)
    rows = await repository.statement_sums(
        conn, sel, units, by == "unit" or sel.unit_id is not None
    )
    least = ctx.settings.min_responses
    return StatementRows(rows=[service.statement_row(r, least) for r in rows], min_responses=least)


@router.get(
    "/answers.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def answers(ctx: Context, who: Reader, sel: Selected, conn: Connection) -> Response:
    """Every NPS score and statement answer of the surveys sent in the range, for the county's
    national reporting: date, unit, service area, code (`nps` or the statement's) and value.
    Nothing about the respondent or the survey (docs/api.md)."""
    rows = await repository.answers(conn, sel, visible_units(ctx, who, sel))
    filename = f"feedback-answers-{sel.first}-{sel.last}.csv"
    return Response(
        service.answers_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/comments", response_model=Comments)
async def comments(
    ctx: Context,
    who: Reader,
    sel: Selected,
    conn: Connection,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Comments:
    """Redacted comments, newest first; units with fewer than `min_responses` responses in
    the range are left out and named."""
    units = visible_units(ctx, who, sel)
    counts = await repository.responses_by_unit(conn, sel, units)
    small = service.too_few_responses(counts, ctx.settings.min_responses)
    rows = await repository.comments(conn, sel, [u for u in counts if u not in small], limit)
    return Comments(comments=[service.comment_out(r) for r in rows], suppressed_units=small)


@router.get("/suppressions/{recipient}", response_model=Suppression)
async def suppression(who: Ingester, conn: Connection, recipient: Recipient) -> Suppression:
    """Whether the survey sender may send to this recipient."""
    return service.suppression(recipient, await repository.suppression(conn, recipient))


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
    return service.suppression(recipient, row)
