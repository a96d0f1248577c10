"""`python -m bench.monthly_report`: how long the monthly report of a whole county month takes
in each format, through the gateway, over a database filled the way production fills it.

The demo registry's county, simulated several times over (each seed another county of the same
registry, merged in time order) until a month holds about 100 000 chats, 50 000 surveys,
300 000 contacts and 5 000 pathway starts; the events go through the services' own domains
(ChatMetrics, FeedbackIngest, ContactMetrics, PathwayMetrics) into an embedded PostgreSQL.
Loaded: the report month, the month before and the same month a year before at full volume,
pathways over all 13 months (their enrolments span months), and optionally the other trend
months at a smaller scale. Then GET /v1/reports/monthly/{month}?format=… in-process (auth,
queries, rendering, serialisation), each format several times; the target is < 5 s each.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.infra import DEMO_REGISTRY, embedded_database
from bench.report import Figure, machine, table, write_section
from services.chat_metrics.exports import ChatExports, wait_histogram
from services.chat_metrics.queues import QueueRules
from services.chat_metrics.service import ChatMetrics
from services.common import token_store as tokens
from services.common.consumer import Consumed, Domain, E, R, apply_new
from services.common.db import create_engine
from services.common.events import Envelope
from services.common.months import Month
from services.common.registry import Registry, load_registry
from services.common.settings import Settings
from services.common.tokens import new_token
from services.contact_metrics.service import ContactMetrics
from services.feedback_ingest.service import FeedbackIngest
from services.gateway.app import create_app
from services.gateway.context import GatewayContext
from services.gateway.reports.formats import FORMATS
from services.gateway.reports.service import TREND_MONTHS
from services.pathway_metrics.service import PathwayMetrics
from services.simulator.chat import simulate_chat
from services.simulator.contacts import simulate_contacts
from services.simulator.feedback import simulate_feedback
from services.simulator.pathways import simulate_pathways

TZ = ZoneInfo("Europe/Helsinki")
TARGET_SECONDS = 5.0
BATCH = 5000
# Seeds of the demo county per stream for one county month of the docstring's size (a seed gives
# about 3 400 chats, 28 000 surveys, 273 000 contacts and 450 pathway starts a month).
COUNTY_SEEDS = {"chat": 30, "feedback": 2, "contact": 1, "pathway": 11}
Simulate = Callable[[int, datetime, datetime], Iterable[Envelope]]
Timings = dict[str, list[float]]
"""Seconds of each request, per report format."""


@dataclass(frozen=True)
class Volumes:
    """What `load_county` loads, in county months (1 = a county's month, 0 = nothing)."""

    month: Month
    scale: float
    """the month, and the pathways"""
    compared: float
    """the month before and the same month a year before"""
    trend: float
    """the other 10 trend months"""
    pathway_months: int = TREND_MONTHS
    """months of pathways up to the month: enrolments start before they end"""

    def of(self, current: Month) -> float:
        if current == self.month:
            return self.scale
        if current in (self.month.shift(-1), self.month.shift(-12)):
            return self.compared
        return self.trend


@dataclass(frozen=True)
class Domains:
    """The services' own domains, which apply events as their consumers do."""

    chat: ChatMetrics
    feedback: FeedbackIngest
    contacts: ContactMetrics
    pathways: PathwayMetrics

    @classmethod
    def of(cls, registry: Registry) -> Domains:
        return cls(
            ChatMetrics(QueueRules(registry, TZ), ChatExports(wait_histogram([60, 120]))),
            FeedbackIngest(registry, TZ),
            ContactMetrics(registry, TZ, Settings().digital_channels),
            PathwayMetrics(registry, TZ),
        )


@dataclass
class Loaded:
    events: Counter[str] = field(default_factory=Counter)  # per stream
    types: Counter[tuple[str, str]] = field(default_factory=Counter)  # (month, event type)
    seconds: dict[str, float] = field(default_factory=dict)  # per stream, simulate + apply


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.monthly_report", description=__doc__)
    parser.add_argument("--month", default="2025-10", type=Month.parse, help="YYYY-MM")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="volume of the compared months (1 = county)"
    )
    parser.add_argument(
        "--trend-scale",
        type=float,
        default=0.0,
        help="volume of the other 10 trend months (0: not loaded)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="requests per format")
    parser.add_argument("--pdf", type=Path, help="also save the PDF here (to look at it)")
    parser.add_argument("--html", type=Path, help="also save the HTML page here")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    with embedded_database("kanava-bench-report-") as url:
        return asyncio.run(run(args, url))


async def run(args: argparse.Namespace, url: str) -> int:
    registry = load_registry(DEMO_REGISTRY)
    engine = create_engine(url, pool_size=4)
    started = time.perf_counter()
    try:
        volumes = Volumes(args.month, args.scale, args.scale, args.trend_scale)
        loaded = await load_county(engine, registry, Domains.of(registry), volumes)
        load_seconds = time.perf_counter() - started
        print(f"loaded in {load_seconds:.0f} s: {loaded.seconds}", file=sys.stderr)
        timings, sizes, same = await measure(engine, registry, args)
    finally:
        await engine.dispose()
    figures = [data_figure(args.month, loaded), *report_figures(timings, sizes, same)]
    print(table(figures))
    if not args.no_write:
        write_section("monthly report", section(args, figures, loaded, load_seconds))
        print("wrote the section `monthly report` of bench/RESULTS.md")
    return 0 if all(f.passed is not False for f in figures) else 1


# --- filling the database ----------------------------------------------------------------------


def seeds(stream: str, scale: float) -> int:
    return max(1, round(COUNTY_SEEDS[stream] * scale))


def merged(simulate: Simulate, count: int, start: datetime, end: datetime) -> Iterator[Envelope]:
    """The seeds' events in time order, as one bigger county."""
    runs = [simulate(seed, start, end) for seed in range(1, count + 1)]
    return heapq.merge(*runs, key=lambda e: e.time)


async def apply_all(
    engine: AsyncEngine,
    domain: Domain[E, R],
    events: Iterable[Envelope],
    loaded: Loaded,
    stream: str,
) -> None:
    started = time.perf_counter()
    batch: list[Consumed[E]] = []

    async def flush() -> None:
        async with engine.begin() as conn:
            _, result = await apply_new(conn, f"bench-{stream}", domain, batch)
        domain.committed(result)
        batch.clear()

    for event in events:
        # the simulators type what they make as Envelope: events of the domain's stream
        batch.append(Consumed(cast(E, event), 0, len(batch)))
        loaded.events[stream] += 1
        kind: str = getattr(event, "type", "")
        loaded.types[(event.time.astimezone(TZ).strftime("%Y-%m"), kind)] += 1
        if len(batch) >= BATCH:
            await flush()
    if batch:
        await flush()
    loaded.seconds[stream] = loaded.seconds.get(stream, 0.0) + time.perf_counter() - started


def every_nth(events: Iterable[Envelope], n: int) -> Iterator[Envelope]:
    return (e for i, e in enumerate(events) if i % n == 0)


async def load_county(
    engine: AsyncEngine, registry: Registry, domains: Domains, volumes: Volumes
) -> Loaded:
    loaded = Loaded()
    month = volumes.month
    for current in [month.shift(n - TREND_MONTHS + 1) for n in range(TREND_MONTHS)]:
        volume = volumes.of(current)
        if volume <= 0:
            continue
        start = datetime.combine(current.first, datetime.min.time(), TZ)
        end = datetime.combine(current.shift(1).first, datetime.min.time(), TZ)
        print(f"loading {current.label} at scale {volume:g}", file=sys.stderr, flush=True)

        def chat_run(seed: int, a: datetime, b: datetime) -> Iterable[Envelope]:
            return simulate_chat(registry, a, b, seed, TZ)

        def feedback_run(seed: int, a: datetime, b: datetime) -> Iterable[Envelope]:
            return simulate_feedback(registry, a, b, seed, TZ, f"bench-key-{seed}")

        events = merged(chat_run, seeds("chat", volume), start, end)
        await apply_all(engine, domains.chat, events, loaded, "chat")
        events = merged(feedback_run, seeds("feedback", volume), start, end)
        await apply_all(engine, domains.feedback, events, loaded, "feedback")
        people = simulate_contacts(registry, start, end, 1, TZ)
        thinned = every_nth(people, max(1, round(1 / volume))) if volume < 1 else people
        await apply_all(engine, domains.contacts, thinned, loaded, "contact")
    # pathways at the month's volume over the months before it too, so enrolments that are
    # active in the month started before it
    first = datetime.combine(month.shift(1 - volumes.pathway_months).first, datetime.min.time(), TZ)
    end = datetime.combine(month.shift(1).first, datetime.min.time(), TZ)

    def pathway_run(seed: int, a: datetime, b: datetime) -> Iterable[Envelope]:
        return simulate_pathways(registry, a, b, seed, TZ)

    events = merged(pathway_run, seeds("pathway", volumes.scale), first, end)
    await apply_all(engine, domains.pathways, events, loaded, "pathway")
    return loaded


# --- measuring ---------------------------------------------------------------------------------


async def measure(
    engine: AsyncEngine, registry: Registry, args: argparse.Namespace
) -> tuple[Timings, dict[str, int], bool]:
    created = new_token()
    async with engine.begin() as conn:
        await tokens.create(conn, created, "bench", ["read"], [], [])
    headers = {"Authorization": f"Bearer {created.token}"}
    ctx = GatewayContext(Settings(), registry, engine, None)
    transport = httpx.ASGITransport(app=create_app(ctx))
    saved = {"pdf": args.pdf, "html": args.html}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway", headers=headers
    ) as client:
        return await time_reports(client, args.month, args.repeat, saved)


async def time_reports(
    client: httpx.AsyncClient, month: Month, repeat: int, saved: dict[str, Path | None]
) -> tuple[Timings, dict[str, int], bool]:
    """GET the month's report in every format in turn, `repeat` rounds (the client carries
    the token); wall time per request, sizes, and whether every JSON run had the same figures.
    A format in `saved` with a path is also written there."""
    timings: Timings = {f: [] for f in FORMATS}
    sizes: dict[str, int] = {}
    reports: list[dict[str, Any]] = []
    url = f"/v1/reports/monthly/{month.label}"
    for _ in range(repeat):
        for fmt in FORMATS:
            started = time.perf_counter()
            response = await client.get(url, params={"format": fmt})
            timings[fmt].append(time.perf_counter() - started)
            response.raise_for_status()
            sizes[fmt] = len(response.content)
            if fmt == "json":
                body = response.json()
                body.pop("metadata")
                reports.append(body)
            if path := saved.get(fmt):
                path.write_bytes(response.content)
    same = all(r == reports[0] for r in reports)
    return timings, sizes, same


def seconds(value: float) -> str:
    return f"{value:.2f} s"


def data_figure(month: Month, loaded: Loaded) -> Figure:
    """What the month holds: chats, surveys, contacts, pathway starts."""
    of_month = {kind: n for (m, kind), n in loaded.types.items() if m == month.label}
    counts = (
        (of_month.get("chat.queued", 0), "chats queued"),
        (of_month.get("survey.sent", 0), "surveys sent"),
        (of_month.get("contact.recorded", 0), "contacts"),
        (of_month.get("pathway.started", 0), "pathway starts"),
    )
    data = ", ".join(f"{n:,}".replace(",", " ") + f" {what}" for n, what in counts)
    return Figure(f"data of {month.label}", data)


def report_figures(timings: Timings, sizes: dict[str, int], same: bool) -> list[Figure]:
    """Per format: first, median and slowest request against the target; same JSON figures."""
    figures = []
    for fmt in FORMATS:
        runs = timings[fmt]
        figures.append(
            Figure(
                f"{fmt}: first, median, slowest of {len(runs)}",
                f"{seconds(runs[0])}, {seconds(statistics.median(runs))}, "
                f"{seconds(max(runs))} ({sizes[fmt] / 1024:.0f} KiB)",
                f"< {TARGET_SECONDS:.0f} s",
                max(runs) < TARGET_SECONDS,
            )
        )
    figures.append(
        Figure("same figures in every JSON run", "yes" if same else "NO", "identical", same)
    )
    return figures


def section(
    args: argparse.Namespace, figures: list[Figure], loaded: Loaded, load_seconds: float
) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    streams = ", ".join(
        f"{s} {loaded.events[s]:,} events in {loaded.seconds[s]:.0f} s".replace(",", " ")
        for s in ("chat", "feedback", "contact", "pathway")
    )
    trend = (
        f"the other 10 trend months at scale {args.trend_scale:g}"
        if args.trend_scale > 0
        else "the other 10 trend months empty but for pathways"
    )
    return "\n".join(
        [
            f"Run {now} with `.venv/bin/python -m bench.monthly_report"
            + (f" --scale {args.scale:g}" if args.scale != 1 else "")
            + (f" --trend-scale {args.trend_scale:g}" if args.trend_scale else "")
            + "`.",
            f"Machine: {machine()}.",
            f"Set-up: an embedded PostgreSQL started by the benchmark; the demo registry "
            f"simulated at scale {args.scale:g} of a county month (chat "
            f"{seeds('chat', args.scale)} seeds, feedback {seeds('feedback', args.scale)}, "
            f"contacts {seeds('contact', args.scale)}, pathways "
            f"{seeds('pathway', args.scale)}) for {args.month.label}, "
            f"{args.month.shift(-1).label} and {args.month.shift(-12).label}, pathways over "
            f"all 13 months, {trend}; applied through the services' domains in batches of "
            f"{BATCH} ({streams}; {load_seconds:.0f} s in all).",
            "",
            table(figures),
            "",
            "How: `GET /v1/reports/monthly/{month}?format=…` through the gateway app in-process "
            "(httpx ASGI transport: token check, the report's queries in one read-only "
            "snapshot, rendering, response), json, csv, html and pdf in turn, "
            f"{args.repeat} rounds; wall time per request. The first PDF of a process includes "
            "importing WeasyPrint (about 1 s). The target, < 5 s, holds for the slowest run.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
