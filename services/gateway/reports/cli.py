"""`kanava report 2025-10 --format pdf -o report.pdf`: the monthly report as a file, from the
configured database (or the dev stack's), with the configured registry and settings."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from services.common.db import create_engine
from services.common.i18n import LANGUAGES
from services.common.months import Month
from services.common.registry import Registry, load_registry
from services.common.settings import Settings, get_settings
from services.common.tokens import Principal
from services.gateway.context import GatewayContext
from services.gateway.reports import formats
from services.gateway.reports.render_pdf import PdfUnavailable
from services.gateway.reports.schemas import MonthlyReport
from services.gateway.reports.service import build_report

# The command line reads the database directly: it sees every unit (narrow with the options).
EVERYONE = Principal("cli", "kanava report", frozenset({"read"}), frozenset(), frozenset())


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the monthly report (PDF, HTML, CSV or JSON)",
        description="Write the monthly report of a month: the month against the previous "
        "month and the same month a year before, per service area, unit, queue and pathway.",
    )
    parser.add_argument("month", type=month_argument, help="the month, YYYY-MM")
    parser.add_argument(
        "--format",
        choices=formats.FORMATS,
        default=None,
        help="default: from the -o file's suffix, else pdf",
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="the file to write; default kanava-report-YYYY-MM.<ext>"
    )
    parser.add_argument("--unit", dest="unit_id", help="only this unit")
    parser.add_argument("--service-area", help="only this service area")
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=None,
        help="the language of its texts (default KANAVA_LANGUAGE, fi)",
    )
    parser.set_defaults(database_handler=write_report)


def month_argument(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def chosen_format(fmt: str | None, output: Path | None) -> formats.Format:
    wanted = fmt or (output.suffix.lower().lstrip(".") if output else "")
    return next((f for f in formats.FORMATS if f == wanted), "pdf")


def write_report(args: argparse.Namespace, database_url: str) -> int:
    fmt = chosen_format(args.format, args.output)
    output: Path = args.output or Path(formats.filename(args.month.label, fmt))
    settings = get_settings()
    try:
        registry = load_registry(settings.registry_file)
    except ValueError as exc:
        print(f"kanava report: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(_build(settings, database_url, registry, args))
    try:
        body = formats.render(report, fmt)
    except PdfUnavailable as exc:
        print(f"kanava report: {exc}", file=sys.stderr)
        return 1
    output.write_bytes(body)
    print(f"wrote {output} ({report.title}, {fmt}, {len(body)} bytes)")
    return 0


async def _build(
    settings: Settings, url: str, registry: Registry, args: argparse.Namespace
) -> MonthlyReport:
    engine = create_engine(url, pool_size=1)
    try:
        ctx = GatewayContext(settings, registry, engine, None)
        language = args.lang or settings.language
        return await build_report(
            ctx, EVERYONE, args.month, args.unit_id, args.service_area, language=language
        )
    finally:
        await engine.dispose()
