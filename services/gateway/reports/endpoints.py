"""GET /v1/reports/monthly/{YYYY-MM}: the monthly report as JSON, CSV, HTML or PDF."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from services.common.i18n import N_
from services.common.months import MONTH_PATTERN, Month
from services.gateway.auth.dependencies import Reader
from services.gateway.context import Context
from services.gateway.errors import ApiError
from services.gateway.language import ReaderLanguage
from services.gateway.periods import ID_PATTERN
from services.gateway.reports import formats
from services.gateway.reports.formats import Format
from services.gateway.reports.grafana import GrafanaUnavailable, post_snapshot
from services.gateway.reports.render_pdf import PdfUnavailable
from services.gateway.reports.schemas import MonthlyReport
from services.gateway.reports.service import build_report

router = APIRouter(prefix="/v1/reports", tags=["reports"])
MonthPath = Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM", examples=["2025-10"])]
_DOCUMENTS = {
    "text/csv": {"schema": {"type": "string"}},
    "text/html": {"schema": {"type": "string"}},
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
}


@dataclass(frozen=True, slots=True)
class Asked:
    """The report asked for: a month, a format, optionally one unit or service area."""

    month: Month
    format: Format
    unit_id: str | None
    service_area: str | None


def _asked(
    month: MonthPath,
    fmt: Annotated[Format, Query(alias="format", description="json, csv, html or pdf")] = "json",
    unit_id: Annotated[str | None, Query(pattern=ID_PATTERN, description="one unit")] = None,
    service_area: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="one service area")
    ] = None,
) -> Asked:
    return Asked(Month.parse(month), fmt, unit_id, service_area)


AskedFor = Annotated[Asked, Depends(_asked)]


@router.get(
    "/monthly/{month}",
    response_model=MonthlyReport,
    responses={200: {"content": _DOCUMENTS, "description": "the report in the asked format"}},
)
async def monthly_report(
    ctx: Context, who: Reader, asked: AskedFor, language: ReaderLanguage
) -> Response:
    """The month against the previous month and the same month a year before, per service
    area, unit, queue and pathway: chat, NPS, pathways and digital share, with targets,
    definitions and (HTML, PDF) charts. A limited token's report covers only its units."""
    report = await build_report(
        ctx, who, asked.month, asked.unit_id, asked.service_area, language=language
    )
    return await _document(report, asked.format)


async def _document(report: MonthlyReport, fmt: Format) -> Response:
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
    ctx: Context, who: Reader, month: MonthPath, language: ReaderLanguage
) -> Snapshot:
    """The month's report as a Grafana snapshot of the "Monthly report" dashboard, its panels
    carrying the figures (KANAVA_GRAFANA_URL, KANAVA_GRAFANA_TOKEN)."""
    url, token = ctx.settings.grafana_url, ctx.settings.grafana_token
    if not url or token is None:
        detail = N_("set KANAVA_GRAFANA_URL and KANAVA_GRAFANA_TOKEN (a service-account token)")
        raise ApiError(503, "grafana_not_configured", detail)
    report = await build_report(ctx, who, Month.parse(month), language=language)
    expires = ctx.settings.grafana_snapshot_expires_seconds
    try:
        answer = await asyncio.to_thread(
            post_snapshot, url, token.get_secret_value(), report, expires
        )
    except GrafanaUnavailable as exc:
        raise ApiError(502, "grafana_error", str(exc)) from None
    return Snapshot(url=answer["url"], key=answer["key"], delete_url=answer["deleteUrl"])
