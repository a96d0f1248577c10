"""The monthly report as an A4 PDF: the HTML page (render_html) drawn by WeasyPrint, print CSS
and inline SVG charts included, so the PDF shows exactly what the page shows.

WeasyPrint needs Pango (Debian: libpango-1.0-0, libpangoft2-1.0-0; `make system-packages`
installs them); without it the PDF format is unavailable and says why."""

from __future__ import annotations

import logging

from services.gateway.reports import render_html
from services.gateway.reports.schemas import MonthlyReport


class PdfUnavailable(RuntimeError):
    """WeasyPrint could not load its system libraries."""


def render(report: MonthlyReport) -> bytes:
    try:  # imported when first needed: it loads Pango and takes about a second
        from weasyprint import HTML  # type: ignore[import-untyped]
    except OSError as exc:
        raise PdfUnavailable(
            f"PDF rendering needs Pango (Debian: libpango-1.0-0 libpangoft2-1.0-0): {exc}"
        ) from exc
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # subsetting chatter at INFO
    pdf: bytes = HTML(string=render_html.render(report)).write_pdf()
    return pdf
