"""GET /v1/reports/monthly/{YYYY-MM}: the monthly report as JSON, CSV, HTML or PDF."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from services.gateway.auth.dependencies import Reader
from services.gateway.context import GatewayContext, context
from services.gateway.errors import ApiError
from services.gateway.reports import formats
from services.gateway.reports.formats import Format
from services.gateway.reports.grafana import GrafanaUnavailable, post_snapshot
from services.gateway.reports.render_pdf import PdfUnavailable
from services.gateway.reports.schemas import MonthlyReport
from services.gateway.reports.service import MONTH_PATTERN, Month, build_report

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Context = Annotated[GatewayContext, Depends(context)]
_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"  # as the statistics endpoints' filters
_DOCUMENTS = {
    "text/csv": {"schema": {"type": "string"}},
    "text/html": {"schema": {"type": "string"}},
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
}


@router.get(
    "/monthly/{month}",
    response_model=MonthlyReport,
    responses={200: {"content": _DOCUMENTS, "description": "the report in the asked format"}},
)
async def monthly_report(
    ctx: Context,
    who: Reader,
    month: Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM", examples=["2025-10"])],
    fmt: Annotated[Format, Query(alias="format", description="json, csv, html or pdf")] = "json",
    unit_id: Annotated[str | None, Query(pattern=_ID, description="one unit")] = None,
    service_area: Annotated[str | None, Query(pattern=_ID, description="one service area")] = None,
) -> Response:
    """The month against the previous month and the same month a year before, per service
    area, unit, queue and pathway: chat, NPS, pathways and digital share, with targets,
    definitions and (HTML, PDF) charts. A limited token's report covers only its units."""
    report = await build_report(ctx, who, Month.parse(month), unit_id, service_area)
    if fmt == "json":
        return Response(report.model_dump_json(), media_type="application/json")
    # rendering takes CPU (a PDF about a second): keep the event loop free meanwhile
    try:
        body = await asyncio.to_thread(formats.render, report, fmt)
    except PdfUnavailable as exc:
        raise ApiError(503, "pdf_unavailable", str(exc)) from None
    media_type, disposition = formats.MEDIA_TYPES[fmt]
    filename = formats.filename(report.month, fmt)
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


class Snapshot(BaseModel):
    url: str
    key: str
    delete_url: str


@router.post("/monthly/{month}/grafana-snapshot", response_model=Snapshot)
async def grafana_snapshot(
    ctx: Context,
    who: Reader,
    month: Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM", examples=["2025-10"])],
) -> Snapshot:
    """The month's report as a Grafana snapshot of the "Monthly report" dashboard, its panels
    carrying the figures (KANAVA_GRAFANA_URL, KANAVA_GRAFANA_TOKEN)."""
    url, token = ctx.settings.grafana_url, ctx.settings.grafana_token
    if not url or token is None:
        detail = "set KANAVA_GRAFANA_URL and KANAVA_GRAFANA_TOKEN (a service-account token)"
        raise ApiError(503, "grafana_not_configured", detail)
    report = await build_report(ctx, who, Month.parse(month))
    expires = ctx.settings.grafana_snapshot_expires_seconds
    try:
        answer = await asyncio.to_thread(
            post_snapshot, url, token.get_secret_value(), report, expires
        )
    except GrafanaUnavailable as exc:
        raise ApiError(502, "grafana_error", str(exc)) from None
    return Snapshot(url=answer["url"], key=answer["key"], delete_url=answer["deleteUrl"])
