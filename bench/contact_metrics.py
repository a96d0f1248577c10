"""Benchmark of the contact_metrics service: `make bench-contact`
(= `python -m bench.contact_metrics`).

Starts its own Tansu broker and embedded PostgreSQL, then in one run measures
1. throughput: a backlog of >= 200 000 simulated `contact.recorded` events (four weeks of the
   demo county, 2 % of the contacts corrected later), produced before the service process
   starts, consumed and committed by the real `python -m services.contact_metrics`; then checks
   the per-day counts it stored against an independent count (contacts by local day, unit and
   channel, each contact as its latest version);
2. a naive consumer (auto commit, json.loads, one ORM row and commit per event) on the same
   events, for the ratio;
3. freshness at a steady 1 000 events/s (the service's histogram, and ack -> commit seen in
   the database);
4. the service's peak RSS.
Prints a table and writes the contact_metrics section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from bench.contact_events import DayFigures, Expected, LiveRecords, contact_backlog
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
from bench.report import Figure, mib
from services.common.events import CONTACT
from services.common.registry import Registry

BENCHMARK = Benchmark("contact_metrics", CONTACT, "bench-contact", ("contact_id", "unit_id"))
TARGET = 20_000


@dataclass(frozen=True)
class Exactness:
    stored: DayFigures
    expected: DayFigures
    records: int
    """Rows of contact_records."""

    @property
    def daily_ok(self) -> bool:
        return +self.stored == +self.expected

    def by_unit_and_channel(self, figures: DayFigures) -> Counter[tuple[str, str]]:
        counts: Counter[tuple[str, str]] = Counter()
        for (_, unit, channel), n in figures.items():
            counts[(unit, channel)] += n
        return +counts


@dataclass(frozen=True)
class Results:
    measured: Measured
    expected: Expected
    exactness: Exactness
    peak_rss: int
    rss_end: int


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("python -m bench.contact_metrics", __doc__, events=200_000, days=28)
    parser.add_argument(
        "--corrections",
        type=float,
        default=0.02,
        help="share of the contacts recorded again later with another channel (0.02)",
    )
    return BENCHMARK.main(parser.parse_args(argv), argv, measure, figures, notes)


def measure(args: argparse.Namespace, phases: Phases) -> Results:
    end = last_local_midnight(TZ)
    registry, (events, expected) = BENCHMARK.simulate(
        phases,
        lambda registry: contact_backlog(
            registry, TZ, args.events, args.days, end, args.corrections
        ),
    )
    print(f"{len(expected.latest)} contacts, {expected.corrections} corrections")
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
        stored, records = await stored_figures(db)
        return Exactness(stored, expected.figures(TZ), records)

    async def memory(service: ServiceProcess, _: asyncpg.Connection) -> tuple[int, int]:
        return service.peak_rss_bytes(), service.rss_bytes()

    live = LiveRecords("bench-live", [(u.id, u.service_area) for u in registry.units])
    measured, exact, (peak_rss, rss_end) = await BENCHMARK.measure(
        infra, events, live, args, phases, exactness, memory
    )
    return Results(measured, expected, exact, peak_rss, rss_end)


async def stored_figures(db: asyncpg.Connection) -> tuple[DayFigures, int]:
    """contact_daily summed by local day, unit and channel; the rows of contact_records."""
    rows = await db.fetch(
        "SELECT day, unit_id, channel, sum(contacts)::bigint AS n FROM contact_daily "
        "GROUP BY day, unit_id, channel"
    )
    stored: DayFigures = Counter({(r["day"], r["unit_id"], r["channel"]): r["n"] for r in rows})
    records = await db.fetchval("SELECT count(*) FROM contact_records")
    return stored, int(records)


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
    stored, expected = e.by_unit_and_channel(e.stored), e.by_unit_and_channel(e.expected)
    contacts = sum(expected.values())
    return [
        Figure("1. events processed (kanava_consumer_events_total)", f"{processed:.0f}",
               f"= {events} produced", processed == events),
        Figure("1. contacts in contact_daily, by unit and channel", f"{sum(stored.values())}",
               f"= {contacts} contacts counted from the events, each unit and channel",
               stored == expected),
        Figure("1. contacts in contact_daily, by local day, unit and channel",
               f"{len(+e.stored)} keys", f"= {len(+e.expected)} keys, each count equal",
               e.daily_ok),
        Figure("1. rows of contact_records", f"{e.records}", f"= {contacts} contacts",
               e.records == contacts),
    ]  # fmt: skip


def notes(r: Results, args: argparse.Namespace) -> list[str]:
    m, expected = r.measured, r.expected
    return [
        backlog_note(
            m,
            "`simulate_contacts`",
            "contact ids tagged with the seed's world",
        ),
        f"- Corrections: {expected.corrections} of the events ({args.corrections:.0%} of the "
        f"contacts, those falling before the end) record a contact again 1 to 48 hours later "
        f"with another event id and another channel, merged in time order: "
        f"{len(expected.latest)} contacts in all.",
        "- Exactness: `contact_daily` summed by local day, unit and channel, and the rows of "
        "`contact_records`, against counts taken from the events as they were produced, each "
        "contact counted once as its version with the latest (time, event id), on its local "
        "day.",
        *comparison_notes(
            m,
            BENCHMARK.naive_fields,
            args,
            f"new contacts unit after unit and channel after channel; every "
            f"{LiveRecords.every}th corrected (another channel) "
            f"≈ {LiveRecords.lag / args.rate:.0f} s later",
        ),
        f"- Memory: peak RSS (VmHWM) {mib(r.peak_rss)} over the whole run, "
        f"{mib(m.run.throughput.peak_rss)} when the backlog was committed; "
        f"{mib(r.rss_end)} at the end.",
        exit_note(m),
    ]


if __name__ == "__main__":
    sys.exit(main())
