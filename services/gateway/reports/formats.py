"""The formats of the monthly report: JSON (the model), CSV, HTML and PDF."""

from __future__ import annotations

from typing import Literal, get_args

from services.gateway.reports import render_csv, render_html, render_pdf
from services.gateway.reports.schemas import MonthlyReport

Format = Literal["json", "csv", "html", "pdf"]
FORMATS: tuple[Format, ...] = get_args(Format)
MEDIA_TYPES: dict[Format, tuple[str, str]] = {
    "json": ("application/json", "inline"),
    "csv": ("text/csv; charset=utf-8", "attachment"),
    "html": ("text/html; charset=utf-8", "inline"),
    "pdf": ("application/pdf", "attachment"),
}


def render(report: MonthlyReport, fmt: Format) -> bytes:
    if fmt == "json":
        return (report.model_dump_json(indent=2) + "\n").encode()
    if fmt == "csv":
        return render_csv.render(report).encode()
    if fmt == "html":
        return render_html.render(report).encode()
    return render_pdf.render(report)


def filename(month: str, fmt: Format) -> str:
    return f"kanava-report-{month}.{fmt}"
