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
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from bench.events import Backlog, LiveContacts, chat_backlog, last_local_midnight, waiting_contacts
from bench.figures import (
    backlog_figures,
    backlog_note,
    comparison_figures,
    comparison_notes,
    exit_note,
)
from bench.harness import TZ, Benchmark, Phases, arguments, nothing, timed
from bench.infra import Infra, ServiceProcess
from bench.measure import Measured, Memory, measure_memory
from bench.report import Figure, mib
from services.chat_metrics.queues import QueueRules
from services.common.events import CHAT

BENCHMARK = Benchmark("chat_metrics", CHAT, "bench-chat", ("contact_id", "queue_id"))


@dataclass(frozen=True)
class Results:
    measured: Measured
    memory: Memory


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("python -m bench.chat_metrics", __doc__, events=300_000, days=84)
    parser.add_argument(
        "--waiting", type=int, default=100_000, help="clients left waiting for the memory test"
    )
    return BENCHMARK.main(parser.parse_args(argv), argv, measure, figures, notes)


def measure(args: argparse.Namespace, phases: Phases) -> Results:
    end = last_local_midnight(TZ)
    registry, events = BENCHMARK.simulate(
        phases, lambda registry: chat_backlog(registry, TZ, args.events, args.days, end)
    )
    rules = QueueRules(registry, TZ)
    return BENCHMARK.on_infrastructure(
        args, phases, lambda infra: run(infra, events, rules, args, phases)
    )


async def run(
    infra: Infra,
    events: Backlog,
    rules: QueueRules,
    args: argparse.Namespace,
    phases: Phases,
) -> Results:
    async def memory(service: ServiceProcess, db: asyncpg.Connection) -> Memory:
        with timed(phases, "4. memory with clients waiting"):
            waiting = waiting_contacts(args.waiting, rules, datetime.now(UTC))
            return await measure_memory(service, db, infra.bootstrap, waiting)

    contacts = LiveContacts("bench-live", rules.known())
    measured, _, used = await BENCHMARK.measure(
        infra, events, contacts, args, phases, nothing, memory
    )
    return Results(measured, used)


def figures(r: Results, args: argparse.Namespace) -> list[Figure]:
    return [
        *backlog_figures(r.measured, 20_000),
        *comparison_figures(r.measured, args, 20, 1.0),
        *_memory_figures(r.memory),
    ]


def _memory_figures(m: Memory) -> list[Figure]:
    return [
        Figure("4. RSS with the clients waiting", mib(m.rss_after), "< 300 MiB",
               m.rss_after < 300 * 1024 * 1024),
        Figure("4. sum of kanava_chat_waiting", f"{m.waiting:.0f}", f"≥ {m.contacts}",
               m.waiting >= m.contacts),
    ]  # fmt: skip


def notes(r: Results, args: argparse.Namespace) -> list[str]:
    m = r.measured
    return [
        backlog_note(m, "`simulate_chat`", "contact and agent ids prefixed per seed"),
        *comparison_notes(
            m,
            BENCHMARK.naive_fields,
            args,
            "contacts queued, answered ~3 s and closed ~9 s later",
        ),
        _memory_note(r.memory),
        exit_note(m),
    ]


def _memory_note(m: Memory) -> str:
    return (
        f"- Memory: {m.contacts} `chat.queued` of new contacts over the demo queues, times in "
        f"the last hour chosen so that no timeout falls due; produced and committed in "
        f"{m.seconds:.1f} s ({m.contacts / m.seconds:.0f} events/s). RSS {mib(m.rss_before)} "
        f"before, {mib(m.rss_after)} after, peak {mib(m.peak_rss)}."
    )


if __name__ == "__main__":
    sys.exit(main())
