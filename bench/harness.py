"""What every service benchmark does the same way (`Benchmark`): its command line, its run
(signals, phases, profile), its own broker and database, the backlog consumed by the real
service process, the naive consumer, freshness, and the written section of RESULTS.md."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import pstats
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import psutil

from bench.events import Backlog, LiveEvents
from bench.figures import header, phases_table
from bench.infra import DEMO_REGISTRY, Infra, ServiceProcess, infrastructure
from bench.measure import (
    BacklogRun,
    Measured,
    measure_freshness,
    measure_throughput,
    produce,
    scrape,
)
from bench.naive import run_naive
from bench.promtext import counter_values, histogram_sum_count
from bench.report import Figure, table, write_section
from services.common.events import Envelope, Stream
from services.common.registry import Registry, load_registry

R = TypeVar("R")
B = TypeVar("B")
A = TypeVar("A")
E = TypeVar("E")
Phases = dict[str, float]
"""Seconds each phase of a run took, in order."""
PARTITIONS = 6
TZ = ZoneInfo("Europe/Helsinki")


def arguments(
    prog: str, description: str | None, events: int, days: int
) -> argparse.ArgumentParser:
    """The options every service benchmark has; a benchmark may add its own."""
    parser = suite_arguments(prog, description)
    add = parser.add_argument
    add("--events", type=int, default=events, help=f"backlog size, at least ({events:_})")
    add("--days", type=int, default=days, help=f"simulated days per seed ({days})")
    add("--naive-events", type=int, default=20_000, help="events for the naive consumer")
    add("--naive-seconds", type=float, default=120.0, help="time bound of the naive consumer")
    add("--rate", type=float, default=1000.0, help="steady rate for freshness, events/s")
    add("--seconds", type=float, default=30.0, help="duration of the steady rate")
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
    return parser


def suite_arguments(prog: str, description: str | None) -> argparse.ArgumentParser:
    """The option every benchmark has: `--no-write`."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS.md")
    return parser


def run_main(
    section: str,
    args: argparse.Namespace,
    measure: Callable[[argparse.Namespace, Phases], R],
    render: Callable[[R, Phases, float], str],
) -> int:
    """Measure (stopping everything on Ctrl-C, SIGTERM or SIGHUP), print the rendered results
    and write them as the `section` of bench/RESULTS.md. `render` gets the share of the
    machine's CPU that was busy in the second before the run."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    busy = psutil.cpu_percent(interval=1.0)
    phases: Phases = {}
    try:
        results = measure(args, phases)
    except KeyboardInterrupt:
        print("interrupted: everything the benchmark started is stopped", file=sys.stderr)
        return 130
    if getattr(args, "profile", None):
        profile_summary(args.profile)
    body = render(results, phases, busy)
    print(body)
    if not args.no_write:
        write_section(section, body)
        print("written to bench/RESULTS.md")
    return 0


def _interrupt(signum: int, _: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def timed(phases: Phases, name: str) -> Iterator[None]:
    started = time.monotonic()
    print(f"{name} ...", flush=True)
    yield
    phases[name] = time.monotonic() - started
    print(f"{name}: {phases[name]:.1f} s", flush=True)


@dataclass(frozen=True)
class Benchmark:
    """What every service benchmark does alike: run, infrastructure, service process, naive
    consumer, freshness, and the written results."""

    service: str
    """The service (`python -m services.<service>`, also its consumer group) and the
    section of bench/RESULTS.md."""
    stream: Stream[Envelope]
    make_target: str
    naive_fields: tuple[str, str]
    """The two data fields the naive consumer stores."""

    def main(
        self,
        args: argparse.Namespace,
        argv: Sequence[str] | None,
        measure: Callable[[argparse.Namespace, Phases], R],
        figures: Callable[[R, argparse.Namespace], list[Figure]],
        notes: Callable[[R, argparse.Namespace], list[str]],
    ) -> int:
        """Measure, print the table, figure notes and phases; write them to RESULTS.md."""

        def render(results: R, phases: Phases, busy: float) -> str:
            setup = (
                f"`{self.stream.topic}` with {PARTITIONS} partitions; the service with batches "
                f"of at most {args.batch or 5000} records"
            )
            head = header(
                command(f"bench.{self.service}", self.make_target, argv),
                busy,
                setup,
            )
            how = "How:\n" + "\n".join(notes(results, args))
            return "\n\n".join([head, table(figures(results, args)), how, phases_table(phases)])

        return run_main(self.service, args, measure, render)

    def simulate(self, phases: Phases, build: Callable[[Registry], B]) -> tuple[Registry, B]:
        """The demo registry, and the backlog `build` simulates with it (timed)."""
        registry = load_registry(DEMO_REGISTRY)
        with timed(phases, "simulate and encode the backlog"):
            return registry, build(registry)

    def on_infrastructure(
        self,
        args: argparse.Namespace,
        phases: Phases,
        run: Callable[[Infra], Coroutine[Any, Any, R]],
    ) -> R:
        """`run` against a broker and a database of the benchmark's own, stopped after."""
        started = time.monotonic()
        with infrastructure(PARTITIONS, args.keep) as infra:
            phases["start broker and PostgreSQL, migrate, create topics"] = (
                time.monotonic() - started
            )
            return asyncio.run(run(infra))

    @contextlib.asynccontextmanager
    async def service_and_database(
        self, infra: Infra, args: argparse.Namespace
    ) -> AsyncIterator[tuple[ServiceProcess, asyncpg.Connection]]:
        """The service (not started yet) and a database connection; the service is stopped
        on the way out (its exit code in `exit_code`)."""
        service = ServiceProcess(
            infra, self.service, self.stream.topic, args.batch, args.profile, args.py_spy
        )
        db = await infra.connect()
        try:
            yield service, db
        finally:
            service.stop()
            await db.close()

    async def measure(
        self,
        infra: Infra,
        events: Backlog,
        live: LiveEvents,
        args: argparse.Namespace,
        phases: Phases,
        after_backlog: Callable[[asyncpg.Connection], Awaitable[A]],
        at_the_end: Callable[[ServiceProcess, asyncpg.Connection], Awaitable[E]],
    ) -> tuple[Measured, A, E]:
        """1. the backlog, consumed by the service (then `after_backlog`, e.g. a check of
        what it stored); 2. the naive consumer; 3. freshness of the `live` events; then
        `at_the_end` (e.g. more measurements), before the service is stopped."""
        async with self.service_and_database(infra, args) as (service, db):
            run = await consume_backlog(infra, service, db, events, phases)
            checked = await after_backlog(db)
            with timed(phases, "2. naive consumer"):
                naive = await run_naive(
                    infra.bootstrap,
                    infra.database_url,
                    self.stream.topic,
                    self.naive_fields,
                    args.naive_events,
                    args.naive_seconds,
                )
            with timed(phases, "3. freshness at a steady rate"):
                freshness = await measure_freshness(
                    service, db, infra.bootstrap, live, args.rate, args.seconds
                )
            last = await at_the_end(service, db)
        return Measured(events, run, naive, freshness, service.exit_code), checked, last


async def nothing(*_: object) -> None:
    """For `Benchmark.measure`: nothing more to do at that point."""


async def consume_backlog(
    infra: Infra, service: ServiceProcess, db: asyncpg.Connection, events: Backlog, phases: Phases
) -> BacklogRun:
    """Produce the backlog, then start the service and time it consuming all of it."""
    print(f"backlog: {len(events.messages)} events ({events.seeds} seeds x {events.days} days)")
    with timed(phases, "produce the backlog (batched, acks=all)"):
        await produce(infra.bootstrap, service.topic, events.messages)
    with timed(phases, "1. service: start and consume the backlog"):
        throughput = await measure_throughput(infra, service, db, len(events.messages))
    service.stop_sampling()
    exposition = await scrape(service)
    outcomes = counter_values(exposition, "kanava_consumer_events", "outcome")
    batches = histogram_sum_count(
        exposition, "kanava_consumer_batch_seconds", {"service": service.name}
    )
    return BacklogRun(throughput, outcomes, batches)


def command(module: str, make_target: str, argv: Sequence[str] | None) -> str:
    """How this run was started, for the results: `make <target>` = the command, when the
    options are the defaults."""
    extra = list(argv if argv is not None else sys.argv[1:])
    line = " ".join([f".venv/bin/python -m {module}", *extra])
    return f"`{line}`" if extra else f"`make {make_target}` = `{line}`"


def profile_summary(path: Path) -> None:
    if not path.exists():
        print(f"no profile written to {path}")
        return
    summary = path.with_suffix(".txt")
    with summary.open("w") as out:
        stats = pstats.Stats(str(path), stream=out)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)
    print(f"profile: {path}, summary in {summary}")
