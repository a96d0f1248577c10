"""Benchmark of the pathway_metrics service: `make bench-pathway`
(= `python -m bench.pathway_metrics`).

Starts its own Tansu broker and embedded PostgreSQL, then in one run measures
1. throughput: a backlog of >= 200 000 simulated pathway events (a year of the demo county,
   several seeds: a county has only some 25 000 pathway events a year), produced before the
   service process starts, consumed and committed by the real
   `python -m services.pathway_metrics`; then checks the per-day figures it stored against an
   independent count (starts, ends, tasks and thumbs by local day and pathway; active
   enrolments by pathway);
2. a naive consumer (auto commit, json.loads, one ORM row and commit per event) on the same
   events, for the ratio;
3. freshness at a steady 1 000 events/s (the service's histogram, and ack -> commit seen in
   the database);
4. the service's peak RSS.
Prints a table and writes the pathway_metrics section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from bench.events import Backlog, last_local_midnight
from bench.figures import (
    backlog_figures,
    backlog_note,
    comparison_figures,
    comparison_notes,
    exit_note,
)
from bench.harness import TZ, Benchmark, Phases, arguments
from bench.infra import Infra, ServiceProcess
from bench.measure import Measured
from bench.pathway_events import MEASURES, DayFigures, Expected, LivePathways, pathway_backlog
from bench.report import Figure, mib
from services.common.events import PATHWAY
from services.common.registry import Registry

BENCHMARK = Benchmark("pathway_metrics", PATHWAY, "bench-pathway", ("enrolment_id", "pathway_id"))
TARGET = 20_000
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("starts", ("starts",)),
    ("completions and discontinuations", ("completions", "discontinued")),
    ("tasks completed", ("tasks_completed",)),
    ("thumbs up and down", ("thumbs_up", "thumbs_down")),
)


@dataclass(frozen=True)
class Exactness:
    stored: DayFigures
    expected: DayFigures
    stored_active: Counter[str]
    expected_active: Counter[str]

    def total(self, figures: DayFigures, measures: tuple[str, ...]) -> int:
        return sum(n for (_, _, measure), n in figures.items() if measure in measures)

    def same(self, measures: tuple[str, ...]) -> bool:
        def only(figures: DayFigures) -> DayFigures:
            return Counter({k: n for k, n in figures.items() if k[2] in measures and n})

        return only(self.stored) == only(self.expected)


@dataclass(frozen=True)
class Results:
    measured: Measured
    expected: Expected
    exactness: Exactness
    peak_rss: int
    rss_end: int


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("python -m bench.pathway_metrics", __doc__, events=200_000, days=365)
    return BENCHMARK.main(parser.parse_args(argv), argv, measure, figures, notes)


def measure(args: argparse.Namespace, phases: Phases) -> Results:
    end = last_local_midnight(TZ)
    registry, (events, expected) = BENCHMARK.simulate(
        phases, lambda registry: pathway_backlog(registry, TZ, args.events, args.days, end)
    )
    print("mix: " + ", ".join(f"{kind} {n}" for kind, n in expected.types.most_common()))
    return BENCHMARK.on_infrastructure(
        args, phases, lambda infra: run(infra, events, expected, registry, args, phases)
    )


async def run(
    infra: Infra,
    events: Backlog,
    expected: Expected,
    registry: Registry,
    args: argparse.Namespace,
    phases: Phases,
) -> Results:
    async def exactness(db: asyncpg.Connection) -> Exactness:
        stored, active = await stored_figures(db)
        return Exactness(stored, expected.figures(TZ), active, expected.active())

    async def memory(service: ServiceProcess, _: asyncpg.Connection) -> tuple[int, int]:
        return service.peak_rss_bytes(), service.rss_bytes()

    live = LivePathways("bench-live", [p.id for p in registry.pathways])
    measured, exact, (peak_rss, rss_end) = await BENCHMARK.measure(
        infra, events, live, args, phases, exactness, memory
    )
    return Results(measured, expected, exact, peak_rss, rss_end)


async def stored_figures(db: asyncpg.Connection) -> tuple[DayFigures, Counter[str]]:
    """pathway_daily summed by local day and pathway; active enrolments by pathway."""
    sums = ", ".join(f"sum({m})::bigint AS {m}" for m in MEASURES)
    rows = await db.fetch(
        f"SELECT day, pathway_id, {sums} FROM pathway_daily GROUP BY day, pathway_id"
    )
    stored: DayFigures = Counter()
    for row in rows:
        for m in MEASURES:
            if row[m]:
                stored[(row["day"], row["pathway_id"], m)] += row[m]
    active = await db.fetch(
        "SELECT pathway_id, count(*) AS n FROM pathway_enrolments "
        "WHERE started_at IS NOT NULL AND ended_at IS NULL GROUP BY pathway_id"
    )
    return stored, Counter({row["pathway_id"]: row["n"] for row in active})


def figures(r: Results, args: argparse.Namespace) -> list[Figure]:
    m = r.measured
    return [
        *backlog_figures(m, TARGET),
        *_exactness_figures(r.exactness, m.run.outcomes, len(m.backlog.messages)),
        *comparison_figures(m, args, None, None),
        Figure("4. peak RSS of the service over the whole run (VmHWM)", mib(r.peak_rss)),
        Figure("4. RSS of the service at the end", mib(r.rss_end)),
    ]


def _exactness_figures(e: Exactness, outcomes: dict[str, float], events: int) -> list[Figure]:
    processed = outcomes.get("processed", 0.0)
    rows = [
        Figure("1. events processed (kanava_consumer_events_total)", f"{processed:.0f}",
               f"= {events} produced", processed == events),
    ]  # fmt: skip
    for name, measures in GROUPS:
        rows.append(
            Figure(
                f"1. {name} in pathway_daily, by local day and pathway",
                f"{e.total(e.stored, measures)}",
                f"= {e.total(e.expected, measures)} counted from the events",
                e.same(measures),
            )
        )
    stored, expected = sum(e.stored_active.values()), sum(e.expected_active.values())
    rows.append(
        Figure(
            "1. active enrolments in pathway_enrolments, by pathway",
            f"{stored}",
            f"= {expected} counted from the events",
            +e.stored_active == +e.expected_active,
        )
    )
    return rows


def notes(r: Results, args: argparse.Namespace) -> list[str]:
    m, expected = r.measured, r.expected
    mix = ", ".join(f"{kind} {n}" for kind, n in expected.types.most_common())
    lag = LivePathways.end_lag * LivePathways.events_per_enrolment() / args.rate
    return [
        backlog_note(
            m,
            "`simulate_pathways`",
            "each seed another world (enrolment ids tagged with the seed, event ids from each "
            "enrolment's own generator)",
        ),
        f"- Mix: {mix}; {len(expected.enrolments)} enrolments, {expected.without_start()} of "
        f"them started before the backlog (their events count under pathway '').",
        "- Exactness: `pathway_daily` summed by local day and pathway, and the active "
        "enrolments of `pathway_enrolments`, against counts taken from the simulator's events "
        "as they were produced, with the rules of docs/events.md written out again in the "
        "benchmark: "
        "the first start (by time, then event id) gives an enrolment's pathway, '' without "
        "one; its first completion or discontinuation counts, every task and thumb counts, "
        "each on its own local day.",
        *comparison_notes(
            m,
            BENCHMARK.naive_fields,
            args,
            f"enrolments started pathway after pathway, a task completed ≈ "
            f"{LivePathways.task_lag * LivePathways.events_per_enrolment() / args.rate:.0f} s "
            f"and the end ≈ {lag:.0f} s later",
        ),
        f"- Memory: peak RSS (VmHWM) {mib(r.peak_rss)} over the whole run, "
        f"{mib(m.run.throughput.peak_rss)} when the backlog was committed; "
        f"{mib(r.rss_end)} at the end.",
        exit_note(m),
    ]


if __name__ == "__main__":
    sys.exit(main())
