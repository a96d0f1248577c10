"""`python -m bench.replay`: a simulated year of a county, from empty topics to the finished
monthly report.

The demo county's four streams are simulated over the 12 months before this month (local
midnights), sized as in docs/calibration.md#benchmarks: the contact register of one county
(≈ 270 000 contacts a month), SMS feedback of two seeds (≈ 57 000 surveys a month), chat of five
seeds (≈ 17 000 chats a month: child-clinic chat alone is 7 000 to 9 000) and pathways of one
seed (≈ 5 400 starts a year: Kymenlaakso 4 646) — about 5 million events. Then, from one moment
t0: the four consumer services and the gateway start on empty topics, the year is produced to
the four topics at once (as a replay of history from the source systems would), the services
consume it, and once everything is committed the last month's report is fetched from the gateway
as JSON and PDF. The total is t0 → the PDF received. Checked: each month's offered chats in the
report's trend against the chat events of that local month. Then retention runs once as every
service runs it (the dedupe floor, the applied ids below it, forgotten stories) and the database
is measured again; the report is asked again and must be the same but for `generated_at`.
Writes the "replay: a county year" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from bench.events import Backlog, queue_entries_by_month
from bench.figures import header, phases_table
from bench.gateway import GatewayProcess, read_token
from bench.harness import PARTITIONS, TZ, Phases, command, run_main, suite_arguments, timed
from bench.infra import DEMO_REGISTRY, Infra, ServiceProcess, infrastructure
from bench.measure import produce
from bench.pipeline import PARTS
from bench.report import Figure, mib, rate, table
from bench.together import TogetherRun, measure_together
from services.chat_metrics import repository as chat_repository
from services.common.db import create_engine
from services.common.history import Stories
from services.common.months import Month
from services.common.registry import load_registry
from services.common.retention import Retention, apply_retention, forget_history, history_cutoff
from services.common.settings import Settings
from services.contact_metrics import repository as contact_repository
from services.feedback_ingest import repository as feedback_repository
from services.pathway_metrics import repository as pathway_repository

YEAR_EVENTS = {
    "chat_metrics": 900_000,
    "feedback_ingest": 800_000,
    "pathway_metrics": 1,
    "contact_metrics": 1,
}
"""At least this many events per service's stream (whole seeds: see the docstring)."""
DAYS = 365
STORIES: tuple[Stories, ...] = (
    chat_repository.STORIES,
    feedback_repository.STORIES,
    pathway_repository.STORIES,
    contact_repository.STORIES,
)
_DATABASE_SIZE = "SELECT pg_database_size(current_database())"
_LARGEST_TABLES = (
    "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
    "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
    "ORDER BY 2 DESC LIMIT 5"
)


@dataclass(frozen=True)
class Report:
    format: str
    seconds: float
    size: int
    received: float
    """Monotonic time the whole answer was in."""


@dataclass(frozen=True)
class Results:
    backlogs: dict[str, Backlog]
    month: Month
    produce_s: float
    run: TogetherRun
    reports: list[Report]
    total_s: float
    database_bytes: int
    largest: list[tuple[str, int]]
    """The largest tables (with indexes and TOAST) after the year, bytes."""
    retention: Retention
    forgotten: int
    """Rows of forgotten stories."""
    database_after_bytes: int
    largest_after: list[tuple[str, int]]
    same_report: bool
    """The report after retention equals the one before, but for `generated_at`."""
    offered: dict[str, tuple[int | None, int]]
    """Per month of the trend: (the report's chat_offered, counted from the events)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = suite_arguments("python -m bench.replay", __doc__)
    parser.add_argument(
        "--fraction", type=float, default=1.0, help="of the year's chat and feedback (1)"
    )
    parser.add_argument(
        "--days", type=int, default=DAYS, help=f"days before this month ({DAYS}: a year)"
    )
    args = parser.parse_args(argv)

    def render(r: Results, phases: Phases, busy: float) -> str:
        head = header(
            command("bench.replay", "bench-replay", argv),
            busy,
            f"the four topics with {PARTITIONS} partitions each; the four services (batches "
            "of at most 5000 records) and the gateway, each its own process",
        )
        return "\n\n".join([head, table(figures(r)), notes(r), phases_table(phases)])

    return run_main("replay: a county year", args, measure, render)


def measure(args: argparse.Namespace, phases: Phases) -> Results:
    registry = load_registry(DEMO_REGISTRY)
    this_month = datetime.now(TZ).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    with timed(phases, "simulate and encode the year"):
        backlogs = {
            p.service: p.backlog(
                registry, round(YEAR_EVENTS[p.service] * args.fraction), args.days, this_month
            )
            for p in PARTS
        }
    month = Month.parse(f"{this_month:%Y-%m}").shift(-1)
    with infrastructure(PARTITIONS) as infra:
        return asyncio.run(replay(infra, backlogs, month, phases))


async def replay(
    infra: Infra, backlogs: dict[str, Backlog], month: Month, phases: Phases
) -> Results:
    processes = [ServiceProcess(infra, p.service, p.stream.topic) for p in PARTS]
    gateway = GatewayProcess(infra)
    token = await read_token(infra)
    db = await infra.connect()
    try:
        with timed(phases, "t0 → everything committed"):
            t0 = time.monotonic()
            producing = asyncio.create_task(_produce_all(infra, backlogs))
            gateway.start()
            events = {service: len(b.messages) for service, b in backlogs.items()}
            run = await measure_together(infra, db, processes, events)
            produce_s = await producing
        with timed(phases, "the monthly report"):
            await gateway.ready()
            reports, body = await _fetch_reports(gateway, token, month)
            total_s = reports[1].received - t0
        database_bytes = int(await db.fetchval(_DATABASE_SIZE))
        largest = [(row[0], int(row[1])) for row in await db.fetch(_LARGEST_TABLES)]
        with timed(phases, "retention, and the report again"):
            retention, forgotten = await _retain(infra.database_url)
            database_after = int(await db.fetchval(_DATABASE_SIZE))
            largest_after = [(row[0], int(row[1])) for row in await db.fetch(_LARGEST_TABLES)]
            _, again = await _fetch_reports(gateway, token, month, ("json",))
    finally:
        gateway.stop()
        for process in processes:
            process.stop()
        await db.close()
    offered = _offered_check(body, backlogs["chat_metrics"])
    return Results(
        backlogs,
        month,
        produce_s,
        run,
        reports,
        total_s,
        database_bytes,
        largest,
        retention=retention,
        forgotten=forgotten,
        database_after_bytes=database_after,
        largest_after=largest_after,
        same_report=_without_clock(again) == _without_clock(body),
        offered=offered,
    )


async def _retain(database_url: str) -> tuple[Retention, int]:
    """What every service's retention task does at its next round, with the default settings."""
    settings = Settings()
    engine = create_engine(database_url)
    try:
        done = await apply_retention(engine, settings.dedupe_horizon_days)
        cutoff = await history_cutoff(engine, settings.history_months)
        forgotten = [await forget_history(engine, stories, cutoff) for stories in STORIES]
    finally:
        await engine.dispose()
    return done, sum(n for rows in forgotten for n in rows.values())


def _without_clock(report: dict[str, Any]) -> dict[str, Any]:
    return report | {"metadata": report["metadata"] | {"generated_at": None}}


async def _produce_all(infra: Infra, backlogs: dict[str, Backlog]) -> float:
    started = time.monotonic()
    await asyncio.gather(
        *(produce(infra.bootstrap, p.stream.topic, backlogs[p.service].messages) for p in PARTS)
    )
    return time.monotonic() - started


async def _fetch_reports(
    gateway: GatewayProcess,
    token: str,
    month: Month,
    formats: Sequence[str] = ("json", "pdf", "pdf"),
) -> tuple[list[Report], dict[str, Any]]:
    reports, body = [], {}
    async with httpx.AsyncClient(
        base_url=gateway.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:
        for fmt in formats:
            started = time.monotonic()
            response = await client.get(
                f"/v1/reports/monthly/{month.label}", params={"format": fmt}
            )
            response.raise_for_status()
            received = time.monotonic()
            reports.append(Report(fmt, received - started, len(response.content), received))
            if fmt == "json":
                body = response.json()
    return reports, body


def _offered_check(report: dict[str, Any], chat: Backlog) -> dict[str, tuple[int | None, int]]:
    counted = queue_entries_by_month(chat, TZ)
    return {p["month"]: (p["chat_offered"], counted[p["month"]]) for p in report["trend"]}


def figures(r: Results) -> list[Figure]:
    run = r.run
    events = run.events
    matches = all((stored or 0) == counted for stored, counted in r.offered.values())
    json_s, first_pdf_s, second_pdf_s = (report.seconds for report in r.reports)
    figures = [
        Figure("events in the year", f"{events:,}".replace(",", " ")),
        Figure("total: t0 → the last month's report received (the first PDF)",
               f"{r.total_s:.1f} s"),
        Figure("t0 → every event committed by every service",
               f"{run.wall_s:.1f} s ({rate(events / run.wall_s)})"),
        Figure("producing the year into the four topics (meanwhile)",
               f"{r.produce_s:.1f} s ({rate(events / r.produce_s)})"),
        Figure("monthly report: JSON / first PDF / second PDF",
               f"{json_s:.2f} s / {first_pdf_s:.2f} s / {second_pdf_s:.2f} s",
               "< 5 s each", max(json_s, first_pdf_s, second_pdf_s) < 5),
        Figure("PostgreSQL database after the year", mib(r.database_bytes)),
        Figure("... after retention ran once (dedupe floor "
               f"{r.retention.floor:%Y-%m-%d})", mib(r.database_after_bytes)),
        Figure("the report after retention = before (but for generated_at)",
               "same" if r.same_report else "differs", "same", r.same_report),
        Figure("offered chats per month in the report = counted from the events",
               "all 13 months" if matches else "differs", "equal", matches),
    ]  # fmt: skip
    for group in run.groups:
        cpu = run.cpu_s(group.group)
        rss = max(p.peak_rss for p in run.processes if p.group == group.group)
        figures.append(
            Figure(
                f"{group.group}: events, done at, CPU per event, peak RSS",
                f"{group.events}, {group.done_s:.1f} s, {cpu / group.events * 1e6:.1f} µs, "
                f"{mib(rss)}",
            )
        )
    return figures


def notes(r: Results) -> str:
    first = next(iter(r.backlogs.values()))
    others = ", ".join(f"{part} {s:.0f} s" for part, s in r.run.other_cpu.items())
    mismatch = {m: v for m, v in r.offered.items() if (v[0] or 0) != v[1]}
    lines = [
        f"- The year: {first.start:%Y-%m-%d} to {first.end:%Y-%m-%d} (local), "
        + ", ".join(
            f"{s} {len(b.messages)} events ({b.seeds} seeds)" for s, b in r.backlogs.items()
        )
        + ".",
        f"- Report of {r.month.label}: "
        + ", ".join(f"{x.format} {x.seconds:.2f} s ({x.size // 1024} KiB)" for x in r.reports)
        + "; the gateway started at t0 with the services, the report asked once all was "
        "committed; the first PDF of a gateway process includes importing WeasyPrint.",
        f"- CPU over the consumption: services "
        f"{sum(p.cpu_s for p in r.run.processes):.0f} s, {others}; whole machine busy "
        f"{r.run.machine_busy}.",
    ]
    lines.append(
        "- Largest tables (with indexes): "
        + ", ".join(f"{name} {mib(size)}" for name, size in r.largest)
        + "."
    )
    lines.append(
        f"- Retention: dedupe floor {r.retention.floor:%Y-%m-%d}; "
        f"{r.retention.default_rows_deleted} applied ids below it deleted from the default "
        f"partition, {len(r.retention.partitions_dropped)} month partitions dropped, "
        f"{r.forgotten} rows of forgotten stories. Largest tables after: "
        + ", ".join(f"{name} {mib(size)}" for name, size in r.largest_after)
        + "."
    )
    if mismatch:
        lines.append(f"- Offered per month (report, counted) that differ: {mismatch}.")
    return "How: see the module's docstring.\n" + "\n".join(lines)


def _backlog_summary(service: str, b: Backlog) -> str:
    return f"{service} {len(b.messages)} events ({b.seeds} seeds)"


if __name__ == "__main__":
    sys.exit(main())
