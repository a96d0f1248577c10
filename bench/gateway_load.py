"""`python -m bench.gateway_load`: the gateway under load from a second process (wrk).

One run:
1. its own Tansu broker and embedded PostgreSQL, filled the way production fills it: the
   month asked at the scale of a county (bench.monthly_report's loading through the services'
   own domains; pathways over the month and the 3 before it), then clients waiting now and
   professionals available now through the chat domain;
2. the real gateway process (`python -m services.gateway`) and a read token;
3. `wrk` against GET /v1/chat/queues and GET /v1/chat/stats of the whole month (a row per
   day), at 1 connection and at `--connections`, `--seconds` each: latency p50 and p99,
   requests/s, errors (any fails the figure), CPU of the gateway, PostgreSQL and wrk;
4. GET /v1/reports/monthly/{month} in every format through the gateway process (< 5 s each).
Prints a table and writes the gateway section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import resource
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.events import Message, own_message, waiting_contacts
from bench.figures import header, phases_table
from bench.gateway import GatewayProcess, read_token
from bench.harness import PARTITIONS, Phases, run_main, suite_arguments, timed
from bench.infra import DEMO_REGISTRY, Infra, cpu_used, infrastructure
from bench.monthly_report import (
    Domains,
    Loaded,
    Timings,
    Volumes,
    apply_all,
    data_figure,
    load_county,
    report_figures,
    time_reports,
)
from bench.report import Figure, mib, table
from services.chat_metrics.queues import QueueRules
from services.common.db import create_engine
from services.common.events import CHAT, ChatEvent
from services.common.months import Month
from services.common.registry import load_registry

WRK_MISSING = "install wrk: apt-get install wrk"
SOURCE = "bench/gateway_load"
FILL = "1. fill the database (simulate and apply)"
PATHWAY_MONTHS = 4
WAITING = 60
"""Clients waiting now, over the queues."""
AGENTS_PER_QUEUE = 3
"""Professionals available now in each queue (capacity 2 each)."""
QUEUES = "/v1/chat/queues"
WRK_TIMEOUT = 10
"""Seconds before wrk counts a request as a timeout error (its default, 2 s, would cut off
the slow end of the loaded runs instead of measuring it)."""
REQUEST_TIMEOUT = 120.0
"""Seconds the benchmark's own requests may take (a slow report is measured, not dropped)."""
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Load:
    """One wrk run: `path` with `connections` open connections for `seconds`."""

    name: str
    path: str
    connections: int
    seconds: int

    @property
    def label(self) -> str:
        return f"{self.name}, {plural(self.connections, 'connection')}"

    def argv(self, base_url: str, token: str) -> list[str]:
        threads = min(2, self.connections)  # wrk needs a connection per thread at least
        return [
            "wrk", "--latency", f"-t{threads}", f"-c{self.connections}", f"-d{self.seconds}s",
            f"--timeout={WRK_TIMEOUT}s", "-H", f"Authorization: Bearer {token}",
            base_url + self.path,
        ]  # fmt: skip

    def command_line(self, base_url: str) -> str:
        """The command, the token elided."""
        argv = self.argv(base_url, "<token>")
        return " ".join(f'"{a}"' if " " in a else a for a in argv)


@dataclass(frozen=True)
class Wrk:
    """What wrk printed: latency percentiles (seconds), requests, errors."""

    p50: float
    p99: float
    requests: int
    per_second: float
    errors: int


@dataclass(frozen=True)
class LoadRun:
    load: Load
    wrk: Wrk
    cpu: dict[str, float]
    """CPU seconds (user+system) of the gateway, PostgreSQL and wrk during the run."""


@dataclass(frozen=True)
class Answers:
    """What the gateway answered before the load: the live queues and the month's stats."""

    waiting: int
    agents: int
    queues: int
    stats_rows: int
    offered: int


@dataclass(frozen=True)
class Results:
    loaded: Loaded
    live_events: int
    fill_seconds: float
    answers: Answers
    base_url: str
    runs: list[LoadRun]
    rss_after_load: int
    reports: tuple[Timings, dict[str, int], bool]
    rss_end: int


def main(argv: Sequence[str] | None = None) -> int:
    parser = suite_arguments("python -m bench.gateway_load", __doc__)
    add = parser.add_argument
    add("--month", default="2025-10", type=Month.parse, help="YYYY-MM (2025-10)")
    add("--seconds", type=int, default=10, help="duration of each wrk run (10)")
    add("--connections", type=int, default=32, help="connections of the loaded runs (32)")
    add("--repeat", type=int, default=3, help="requests of the monthly report per format (3)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print(WRK_MISSING, file=sys.stderr)
        return 2

    def render(results: Results, phases: Phases, busy: float) -> str:
        return report(results, args, argv, phases, busy)

    return run_main("gateway", args, measure, render)


def measure(args: argparse.Namespace, phases: Phases) -> Results:
    with contextlib.ExitStack() as stack:
        with timed(phases, "start broker and PostgreSQL, migrate, create topics"):
            infra = stack.enter_context(infrastructure(PARTITIONS))
        return asyncio.run(run(infra, args, phases))


async def run(infra: Infra, args: argparse.Namespace, phases: Phases) -> Results:
    with timed(phases, FILL):
        loaded, live_events = await fill(infra, args.month)
    gateway = GatewayProcess(infra)
    try:
        with timed(phases, "2. start the gateway"):
            await gateway.start_ready()
        token = await read_token(infra)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            base_url=gateway.base_url, headers=headers, timeout=REQUEST_TIMEOUT
        ) as client:
            answers = await ask(client, args.month)
            runs = [
                await load_run(load, gateway, infra, token, phases)
                for load in loads(args.month, args.connections, args.seconds)
            ]
            rss_after_load = gateway.peak_rss_bytes()
            with timed(phases, "4. monthly report in every format"):
                reports = await time_reports(client, args.month, args.repeat, {})
        rss_end = gateway.peak_rss_bytes()
    finally:
        gateway.stop()
    return Results(
        loaded=loaded,
        live_events=live_events,
        fill_seconds=phases[FILL],
        answers=answers,
        base_url=gateway.base_url,
        runs=runs,
        rss_after_load=rss_after_load,
        reports=reports,
        rss_end=rss_end,
    )


# --- the data ----------------------------------------------------------------------------------


def volumes(month: Month) -> Volumes:
    """The month at a county's scale and what its report needs: pathways started before."""
    return Volumes(month, scale=1.0, compared=0.0, trend=0.0, pathway_months=PATHWAY_MONTHS)


async def fill(infra: Infra, month: Month) -> tuple[Loaded, int]:
    """The county month, then the live state of the queues; (what was loaded, live events)."""
    registry = load_registry(DEMO_REGISTRY)
    domains = Domains.of(registry)
    engine = create_engine(infra.database_url, pool_size=4)
    try:
        loaded = await load_county(engine, registry, domains, volumes(month))
        live = live_events(domains.chat.rules, datetime.now(UTC))
        await apply_all(engine, domains.chat, live, Loaded(), "chat")
    finally:
        await engine.dispose()
    return loaded, len(live)


def live_events(rules: QueueRules, now: datetime) -> list[ChatEvent]:
    """Clients queued within the last hour and still waiting (no timeout due), and
    professionals available now in every queue, as the chat service reads them."""
    messages = waiting_contacts(WAITING, rules, now) + available_agents(rules, now)
    events = [CHAT.parse(value, now, timedelta(hours=1)) for _, value in messages]
    return sorted(events, key=lambda event: event.time)


def available_agents(rules: QueueRules, now: datetime) -> list[Message]:
    return [
        own_message(
            SOURCE,
            "agent.status",
            agent,
            now,
            {"agent_id": agent, "status": "available", "queue_ids": [queue], "capacity": 2},
        )
        for queue in rules.known()
        for agent in (f"bench-agent-{queue}-{n}" for n in range(AGENTS_PER_QUEUE))
    ]


# --- the load ----------------------------------------------------------------------------------


def stats_path(month: Month) -> str:
    return f"/v1/chat/stats?from={month.first}&to={month.last}&granularity=day"


def loads(month: Month, connections: int, seconds: int) -> list[Load]:
    endpoints = [(QUEUES, QUEUES), (f"/v1/chat/stats, {month.label}", stats_path(month))]
    return [
        Load(name, path, count, seconds) for name, path in endpoints for count in (1, connections)
    ]


async def ask(client: httpx.AsyncClient, month: Month) -> Answers:
    """Each endpoint once before the load (it must answer 200): what they return."""
    queues = (await answered(client, QUEUES))["queues"]
    rows = (await answered(client, stats_path(month)))["rows"]
    return Answers(
        waiting=sum(q["waiting"] for q in queues),
        agents=sum(q["agents_available"] for q in queues),
        queues=len(queues),
        stats_rows=len(rows),
        offered=sum(r["offered"] for r in rows),
    )


async def answered(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path)
    response.raise_for_status()
    return response.json()


async def load_run(
    load: Load, gateway: GatewayProcess, infra: Infra, token: str, phases: Phases
) -> LoadRun:
    """wrk against the gateway, and the CPU the gateway, PostgreSQL and wrk used meanwhile."""
    gateway_before, infra_before, wrk_before = (
        gateway.cpu_seconds(),
        infra.cpu_seconds(),
        children_cpu(),
    )
    with timed(phases, f"3. wrk: {load.label}"):
        output = await wrk(load.argv(gateway.base_url, token))
    cpu = {
        "gateway": gateway.cpu_seconds() - gateway_before,
        "PostgreSQL": cpu_used(infra_before, infra.cpu_seconds())["PostgreSQL"],
        "wrk": children_cpu() - wrk_before,
    }
    return LoadRun(load, parse_wrk(output), cpu)


def children_cpu() -> float:
    """CPU seconds of this process's ended children (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def wrk(argv: list[str]) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err.decode()}{out.decode()}")
    return out.decode()


def parse_wrk(output: str) -> Wrk:
    """The figures of `wrk --latency` output; the error lines appear only when there were
    errors (socket: connect, read, write, timeout; responses other than 2xx or 3xx)."""
    socket_errors = re.search(r"Socket errors: (.*)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = sum(int(n) for n in re.findall(r"\d+", socket_errors[1])) if socket_errors else 0
    return Wrk(
        p50=_latency(output, 50),
        p99=_latency(output, 99),
        requests=int(_search(r"(\d+) requests in", output)[1]),
        per_second=float(_search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        errors=errors + (int(non_2xx[1]) if non_2xx else 0),
    )


def _latency(output: str, percent: int) -> float:
    found = _search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output)
    return float(found[1]) * _UNITS[found[2]]


def _search(pattern: str, output: str) -> re.Match[str]:
    found = re.search(pattern, output, re.MULTILINE)
    if found is None:
        raise ValueError(f"no {pattern!r} in the output of wrk:\n{output}")
    return found


# --- the results -------------------------------------------------------------------------------


def report(
    r: Results, args: argparse.Namespace, argv: Sequence[str] | None, phases: Phases, busy: float
) -> str:
    extra = " ".join(argv if argv is not None else sys.argv[1:])
    command = f"`.venv/bin/python -m bench.gateway_load{' ' + extra if extra else ''}`"
    setup = (
        "the gateway (`python -m services.gateway`, one process) on a free port; "
        "wrk as the second process"
    )
    head = header(command, busy, setup)
    how = "How:\n" + "\n".join(notes(r, args))
    return "\n\n".join([head, table(figures(r, args)), how, phases_table(phases)])


def figures(r: Results, args: argparse.Namespace) -> list[Figure]:
    a = r.answers
    live = f"{a.waiting} clients waiting, {a.agents} professionals available in {a.queues} queues"
    return [
        data_figure(args.month, r.loaded),
        Figure(f"{QUEUES} before the load", live),
        *(figure for run in r.runs for figure in run_figures(run)),
        Figure("peak RSS of the gateway after the load (VmHWM)", mib(r.rss_after_load)),
        *report_figures(*r.reports),
        Figure("peak RSS of the gateway after the reports (VmHWM)", mib(r.rss_end)),
    ]


def run_figures(run: LoadRun) -> list[Figure]:
    w, cpu = run.wrk, run.cpu
    per_request = cpu["gateway"] / w.requests * 1000 if w.requests else float("nan")
    return [
        Figure(
            f"{run.load.label}: latency p50, p99; requests/s; errors",
            f"{w.p50 * 1000:.1f} ms, {w.p99 * 1000:.1f} ms; {spaced(round(w.per_second))}/s "
            f"({spaced(w.requests)} in {run.load.seconds} s); {w.errors} errors",
            "0 errors",
            w.errors == 0,
        ),
        Figure(
            f"{run.load.label}: CPU used meanwhile",
            f"gateway {cpu['gateway']:.1f} s ({per_request:.2f} ms/request), "
            f"PostgreSQL {cpu['PostgreSQL']:.1f} s, wrk {cpu['wrk']:.1f} s",
        ),
    ]


def notes(r: Results, args: argparse.Namespace) -> list[str]:
    loaded, a = r.loaded, r.answers
    streams = ", ".join(
        f"{stream} {spaced(loaded.events[stream])} events in {loaded.seconds[stream]:.0f} s"
        for stream in ("chat", "feedback", "contact", "pathway")
    )
    commands = "\n".join(f"  `{run.load.command_line(r.base_url)}`" for run in r.runs)
    return [
        f"- Data: {args.month.label} at the scale of a county month, simulated and applied "
        "through the services' own domains in batches as bench.monthly_report does ("
        f"{streams}; {r.fill_seconds:.0f} s in all); pathways over {args.month.label} and the "
        f"{PATHWAY_MONTHS - 1} months before it; the month before and the same month a year "
        "before not loaded (the report compares against empty months; "
        "`python -m bench.monthly_report` loads them).",
        f"- Live state: {r.live_events} chat events of now through the chat domain: {WAITING} "
        "`chat.queued` of new contacts within the last hour (no timeout due) over the "
        f"registry's queues and {AGENTS_PER_QUEUE} professionals available (capacity 2) in "
        f"each queue. Before the load `{QUEUES}` answered {a.waiting} waiting and "
        f"{a.agents} available; `{stats_path(args.month)}` answered {a.stats_rows} rows, "
        f"{spaced(a.offered)} offered.",
        f"- Load: wrk {args.seconds} s per run, one run after the other, with a read token "
        "stored in the benchmark's database (the gateway checks it on every request):\n"
        f"{commands}\n"
        "  Latency p50 and p99 are wrk's Latency Distribution; errors are its socket errors "
        f"(connect, read, write, timeout after {WRK_TIMEOUT} s) and responses other than 2xx "
        "or 3xx, any of which fails the figure. Neither the docs nor README state a latency or "
        "throughput target for these endpoints. CPU: user+system of the gateway process, of "
        "PostgreSQL's processes and of wrk over each run.",
        "- Machine: its 2 cores are shared by wrk, the gateway (one process, one event loop, "
        "8 database connections) and PostgreSQL; the broker idles.",
        f"- Monthly report: `GET /v1/reports/monthly/{args.month.label}?format=…` over HTTP to "
        "the gateway process (httpx, one request at a time), json, csv, html and pdf in turn, "
        f"{plural(args.repeat, 'round')}, after the load; wall time per request. The first "
        "PDF includes the gateway importing WeasyPrint. The target, < 5 s, holds for the "
        "slowest run.",
    ]


def spaced(number: int) -> str:
    """1 234 567."""
    return f"{number:,}".replace(",", " ")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


if __name__ == "__main__":
    sys.exit(main())
