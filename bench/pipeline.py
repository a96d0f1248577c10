"""`python -m bench.pipeline`: the four consumer services together, and chat_metrics scaled out.

1. Together: the backlogs of the four service benchmarks (same simulators, sizes and days)
   produced to their topics before any service starts; the four service processes started at
   once on the same machine; each timed until its group has committed everything: events/s,
   CPU per event, peak RSS, and the whole pipeline's events/s.
2. Scale-out: the chat backlog in a fresh broker and database, consumed by one chat_metrics
   process; then again in another fresh pair by two processes in one consumer group (three
   of the six partitions each). Throughput, and every chat table compared between the two
   runs (row counts and an md5 of all rows), and offered entries against the events.
Writes the "all four services together" and "scale-out" sections of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from bench.contact_events import contact_backlog
from bench.events import Backlog, chat_backlog, last_local_midnight, queue_entries_by_month
from bench.feedback_events import feedback_backlog
from bench.figures import header, phases_table
from bench.harness import PARTITIONS, TZ, Phases, command, run_main, suite_arguments, timed
from bench.infra import DEMO_REGISTRY, Infra, ServiceProcess, infrastructure
from bench.measure import produce, scrape
from bench.pathway_events import pathway_backlog
from bench.promtext import counter_values
from bench.report import Figure, mib, rate, table, write_section
from bench.together import TogetherRun, measure_together
from services.common.events import CHAT, CONTACT, FEEDBACK, PATHWAY, Envelope, Stream
from services.common.registry import Registry, load_registry

CHAT_TABLES = (
    "chat_contact_events",
    "chat_contacts",
    "chat_visits",
    "chat_queue_daily",
    "chat_bot_daily",
    "chat_agents",
)
Digests = dict[str, tuple[int, str]]
"""(rows, md5 of all rows in order) per table."""


@dataclass(frozen=True)
class Part:
    """A service of the pipeline and the backlog its own benchmark uses."""

    service: str
    stream: Stream[Envelope]
    events: int
    days: int
    backlog: Callable[[Registry, int, int, datetime], Backlog]


PARTS = (
    Part("chat_metrics", CHAT, 300_000, 84, lambda r, n, d, e: chat_backlog(r, TZ, n, d, e)),
    Part("feedback_ingest", FEEDBACK, 200_000, 182,
         lambda r, n, d, e: feedback_backlog(r, TZ, n, d, e)[0]),
    Part("pathway_metrics", PATHWAY, 200_000, 365,
         lambda r, n, d, e: pathway_backlog(r, TZ, n, d, e)[0]),
    Part("contact_metrics", CONTACT, 200_000, 28,
         lambda r, n, d, e: contact_backlog(r, TZ, n, d, e, 0.02)[0]),
)  # fmt: skip


@dataclass(frozen=True)
class Together:
    run: TogetherRun
    backlogs: dict[str, Backlog]
    outcomes: dict[str, dict[str, float]]


@dataclass(frozen=True)
class ScaleOut:
    runs: dict[int, TogetherRun]
    """Per number of instances."""
    digests: dict[int, Digests]
    offered: dict[int, int]
    """Sum of `offered` in chat_queue_daily, per number of instances."""
    entries: int
    """chat.queued and chat.transferred events of the backlog (each enters a queue once)."""


@dataclass(frozen=True)
class Results:
    together: Together
    scale_out: ScaleOut


def main(argv: Sequence[str] | None = None) -> int:
    parser = suite_arguments("python -m bench.pipeline", __doc__)
    parser.add_argument(
        "--fraction", type=float, default=1.0, help="of each service benchmark's backlog (1)"
    )
    args = parser.parse_args(argv)

    def render(results: Results, phases: Phases, busy: float) -> str:
        head = header(
            command("bench.pipeline", "bench-pipeline", argv),
            busy,
            f"the four topics with {PARTITIONS} partitions each; services with batches of at "
            "most 5000 records",
        )
        scale = render_scale_out(results.scale_out)
        print(scale)
        if not args.no_write:
            write_section("scale-out: two chat_metrics instances", f"{head}\n\n{scale}")
        together = render_together(results.together)
        return "\n\n".join([head, together, phases_table(phases)])

    return run_main("all four services together", args, measure, render)


def measure(args: argparse.Namespace, phases: Phases) -> Results:
    registry = load_registry(DEMO_REGISTRY)
    end = last_local_midnight(TZ)
    with timed(phases, "simulate and encode the four backlogs"):
        backlogs = {
            p.service: p.backlog(registry, round(p.events * args.fraction), p.days, end)
            for p in PARTS
        }
    with infrastructure(PARTITIONS) as infra:
        together = asyncio.run(run_together(infra, backlogs, phases))
    chat = backlogs["chat_metrics"]
    runs, digests, offered = {}, {}, {}
    for instances in (1, 2):
        with (
            timed(phases, f"scale-out: {instances} chat_metrics instance(s), fresh infra"),
            infrastructure(PARTITIONS) as infra,
        ):
            runs[instances], digests[instances], offered[instances] = asyncio.run(
                run_chat_instances(infra, chat, instances)
            )
    scale_out = ScaleOut(runs, digests, offered, queue_entries_by_month(chat, TZ).total())
    return Results(together, scale_out)


async def run_together(infra: Infra, backlogs: dict[str, Backlog], phases: Phases) -> Together:
    with timed(phases, "produce the four backlogs (batched, acks=all)"):
        for part in PARTS:
            await produce(infra.bootstrap, part.stream.topic, backlogs[part.service].messages)
    processes = [ServiceProcess(infra, p.service, p.stream.topic) for p in PARTS]
    db = await infra.connect()
    try:
        with timed(phases, "1. the four services: start and consume everything"):
            events = {p.service: len(backlogs[p.service].messages) for p in PARTS}
            run = await measure_together(infra, db, processes, events)
        outcomes = {
            p.name: counter_values(await scrape(p), "kanava_consumer_events", "outcome")
            for p in processes
        }
    finally:
        for process in processes:
            process.stop()
        await db.close()
    return Together(run, backlogs, outcomes)


async def run_chat_instances(
    infra: Infra, chat: Backlog, instances: int
) -> tuple[TogetherRun, Digests, int]:
    await produce(infra.bootstrap, CHAT.topic, chat.messages)
    processes = [
        ServiceProcess(infra, "chat_metrics", CHAT.topic, log_name=f"chat_metrics-{n}")
        for n in range(instances)
    ]
    db = await infra.connect()
    try:
        run = await measure_together(infra, db, processes, {"chat_metrics": len(chat.messages)})
        for process in processes:
            process.stop()
        offered = int(await db.fetchval("SELECT coalesce(sum(offered), 0) FROM chat_queue_daily"))
        return run, await table_digests(db, CHAT_TABLES), offered
    finally:
        for process in processes:
            process.stop()
        await db.close()


async def table_digests(db: asyncpg.Connection, tables: Sequence[str]) -> Digests:
    digests: Digests = {}
    for name in tables:
        row = await db.fetchrow(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
            f"FROM {name} t"
        )
        assert row is not None
        digests[name] = (int(row[0]), str(row[1]))
    return digests


# --- rendering -------------------------------------------------------------------------------


def render_together(t: Together) -> str:
    run = t.run
    rows = [
        "| service | events | start → all committed | events/s, start-up included | "
        "events/s, first commit → end | CPU per event | peak RSS | outcomes |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for group in run.groups:
        cpu = run.cpu_s(group.group)
        rss = max(p.peak_rss for p in run.processes if p.group == group.group)
        outcomes = ", ".join(f"{k} {v:.0f}" for k, v in sorted(t.outcomes[group.group].items()))
        rows.append(
            f"| {group.group} | {group.events} | {group.done_s:.1f} s | {rate(group.rate_total)} "
            f"| {rate(group.rate_steady)} | {cpu / group.events * 1e6:.1f} µs | {mib(rss)} "
            f"| {outcomes} |"
        )
    dead = sum(o.get("dead_lettered", 0.0) for o in t.outcomes.values())
    others = ", ".join(f"{part} {s:.1f} s" for part, s in run.other_cpu.items())
    services_cpu = sum(p.cpu_s for p in run.processes)
    figures = [
        Figure("whole pipeline: events/s, start → last service done",
               f"{rate(run.events / run.wall_s)} ({run.events} events in {run.wall_s:.1f} s)"),
        Figure("whole pipeline: CPU per event, services / broker and PostgreSQL",
               f"{services_cpu / run.events * 1e6:.1f} µs / "
               f"{sum(run.other_cpu.values()) / run.events * 1e6:.1f} µs"),
        Figure("CPU used meanwhile", f"services {services_cpu:.1f} s, {others}"),
        Figure("whole machine CPU busy meanwhile", str(run.machine_busy)),
        Figure("dead letters (all simulated events are valid)", f"{dead:.0f}", "0", dead == 0),
    ]  # fmt: skip
    how = (
        "How: the four backlogs below, produced one topic after the other before any service "
        "started; the four `python -m services.<service>` processes started together; each "
        "service's committed offsets in `consumer_offsets` polled every 50 ms; CPU is user + "
        "system of each process over its life, RSS its VmHWM. chat_metrics may count a few more "
        "processed than produced: the `chat.abandoned` (timeout) events its stale-contact sweep "
        "publishes to `chat.events` itself once the waiting clients' time is up.\n"
        + "\n".join(_backlog_line(name, b) for name, b in t.backlogs.items())
    )
    return "\n\n".join(["\n".join(rows), table(figures), how])


def _backlog_line(service: str, b: Backlog) -> str:
    return (
        f"- {service}: {len(b.messages)} events, {b.days} days before {b.end:%Y-%m-%d} "
        f"x {b.seeds} seed(s), as in its own benchmark."
    )


def render_scale_out(s: ScaleOut) -> str:
    one, two = s.runs[1], s.runs[2]
    g1, g2 = one.groups[0], two.groups[0]
    same = s.digests[1] == s.digests[2]
    differing = [t for t in CHAT_TABLES if s.digests[1][t] != s.digests[2][t]]
    rows = ", ".join(f"{t} {s.digests[2][t][0]}" for t in CHAT_TABLES)
    per_process = "; ".join(
        f"{p.process} {p.cpu_s:.1f} s CPU, {mib(p.peak_rss)}" for p in two.processes
    )
    figures = [
        Figure("1 instance: events/s, first commit → end", rate(g1.rate_steady)),
        Figure("1 instance: events/s, start-up included", rate(g1.rate_total)),
        Figure("2 instances: events/s, first commit → end", rate(g2.rate_steady)),
        Figure("2 instances: events/s, start-up included", rate(g2.rate_total)),
        Figure("ratio 2 ÷ 1 instances, first commit → end",
               f"{g2.rate_steady / g1.rate_steady:.2f}x"),
        Figure("CPU per event, 1 / 2 instances (services)",
               f"{one.cpu_s('chat_metrics') / g1.events * 1e6:.1f} µs / "
               f"{two.cpu_s('chat_metrics') / g2.events * 1e6:.1f} µs"),
        Figure("whole machine CPU busy, 1 / 2 instances",
               f"{one.machine_busy} / {two.machine_busy}"),
        Figure("chat tables identical, 1 and 2 instances (rows and md5)",
               "yes" if same else f"no: {', '.join(differing)}", "identical", same),
        Figure("offered entries = chat.queued + chat.transferred events",
               f"{s.offered[1]} / {s.offered[2]} of {s.entries}", "equal",
               s.offered[1] == s.offered[2] == s.entries),
    ]  # fmt: skip
    how = (
        f"How: the chat_metrics backlog ({g1.events} events) produced to a fresh broker and "
        f"database for each run, all of it before the services started; the instances start "
        f"together in one consumer group (the six partitions split 3 + 3 by the group "
        f"protocol). Rows compared: {rows}. Two instances: {per_process}. The machine has "
        f"2 cores shared by the instances, the broker and PostgreSQL, so the ratio shows what "
        f"a second instance gains when the machine, not the service, is the limit."
    )
    return "\n\n".join([table(figures), how])


if __name__ == "__main__":
    sys.exit(main())
