"""Benchmark of the feedback_ingest service: `make bench-feedback`
(= `python -m bench.feedback_ingest`).

Starts its own Tansu broker and embedded PostgreSQL, then in one run measures
1. throughput: a backlog of >= 200 000 simulated feedback events as the simulator mixes them
   (survey.sent, sms.received, survey.answered, survey.delivery_failed), produced before the
   service process starts, consumed and committed by the real
   `python -m services.feedback_ingest`; then checks the figures it stored against an
   independent count (surveys sent and failed, responses by unit and NPS category);
2. a naive consumer (auto commit, json.loads, one ORM row and commit per event) on the same
   events, for the ratio;
3. freshness at a steady 1 000 events/s (the service's histogram, and ack -> commit seen in
   the database);
4. the service's peak RSS.
Prints a table and writes the feedback_ingest section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from bench.events import Backlog, last_local_midnight
from bench.feedback_events import Expected, LiveSurveys, feedback_backlog
from bench.figures import (
    backlog_figures,
    backlog_note,
    comparison_figures,
    comparison_notes,
    exit_note,
    rss_figures,
    rss_note,
)
from bench.harness import TZ, Benchmark, Phases, arguments
from bench.infra import Infra
from bench.measure import Measured, Rss, rss_at_end
from bench.report import Figure
from services.common.events import FEEDBACK
from services.common.nps import Category
from services.common.registry import Registry

BENCHMARK = Benchmark("feedback_ingest", FEEDBACK, "bench-feedback", ("recipient", "survey_id"))
TARGET = 15_000
CATEGORIES: tuple[Category, ...] = ("promoter", "passive", "detractor")


@dataclass(frozen=True)
class Stored:
    """What the service's per-day figures hold, summed over the days."""

    sent: int
    failed: int
    responses: dict[str, Counter[Category]]
    """By unit and NPS category."""
    replies: dict[str, int]
    """SMS replies by outcome."""


@dataclass(frozen=True)
class Exactness:
    stored: Stored
    expected: Expected

    @property
    def sent_ok(self) -> bool:
        return self.stored.sent == len(self.expected.sent)

    @property
    def failed_ok(self) -> bool:
        return self.stored.failed == self.expected.delivery_failed

    @property
    def responses_ok(self) -> bool:
        return _nonzero(self.stored.responses) == _nonzero(self.expected.responses())


def _nonzero(by_unit: dict[str, Counter[Category]]) -> dict[str, Counter[Category]]:
    return {unit: +counts for unit, counts in by_unit.items() if +counts}


@dataclass(frozen=True)
class Results:
    measured: Measured
    exactness: Exactness
    rss: Rss


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("python -m bench.feedback_ingest", __doc__, events=200_000, days=182)
    return BENCHMARK.main(parser.parse_args(argv), argv, measure, figures, notes)


def measure(args: argparse.Namespace, phases: Phases) -> Results:
    end = last_local_midnight(TZ)
    registry, (events, expected) = BENCHMARK.simulate(
        phases, lambda registry: feedback_backlog(registry, TZ, args.events, args.days, end)
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
        return Exactness(await stored_figures(db), expected)

    surveys = LiveSurveys("bench-live", [(u.id, u.service_area) for u in registry.units])
    measured, exact, rss = await BENCHMARK.measure(
        infra, events, surveys, args, phases, exactness, rss_at_end
    )
    return Results(measured, exact, rss)


async def stored_figures(db: asyncpg.Connection) -> Stored:
    units = await db.fetch(
        "SELECT unit_id, sum(surveys_sent)::bigint AS sent, sum(delivery_failed)::bigint AS "
        "failed, sum(promoters)::bigint AS promoter, sum(passives)::bigint AS passive, "
        "sum(detractors)::bigint AS detractor FROM feedback_unit_daily GROUP BY unit_id"
    )
    replies = await db.fetch(
        "SELECT outcome, sum(replies)::bigint AS n FROM feedback_reply_daily GROUP BY outcome"
    )
    return Stored(
        sent=sum(row["sent"] for row in units),
        failed=sum(row["failed"] for row in units),
        responses={row["unit_id"]: Counter({c: row[c] for c in CATEGORIES}) for row in units},
        replies={row["outcome"]: row["n"] for row in replies},
    )


def figures(r: Results, args: argparse.Namespace) -> list[Figure]:
    m = r.measured
    return [
        *backlog_figures(m, TARGET),
        *_exactness_figures(r.exactness, m.run.outcomes, len(m.backlog.messages)),
        *comparison_figures(m, args, None, None),
        *rss_figures(r.rss),
    ]


def _exactness_figures(e: Exactness, outcomes: dict[str, float], events: int) -> list[Figure]:
    stored, expected = e.stored, e.expected
    responses = sum(sum(c.values()) for c in stored.responses.values())
    intended = sum(sum(c.values()) for c in expected.responses().values())
    processed = outcomes.get("processed", 0.0)
    return [
        Figure("1. events processed (kanava_consumer_events_total)", f"{processed:.0f}",
               f"= {events} produced", processed == events),
        Figure("1. surveys in feedback_unit_daily", f"{stored.sent}",
               f"= {len(expected.sent)} survey.sent produced", e.sent_ok),
        Figure("1. delivery failures in feedback_unit_daily", f"{stored.failed}",
               f"= {expected.delivery_failed} produced", e.failed_ok),
        Figure("1. responses in feedback_unit_daily, by unit and category", f"{responses}",
               f"= {intended} intended scores, each unit and category", e.responses_ok),
    ]  # fmt: skip


def notes(r: Results, args: argparse.Namespace) -> list[str]:
    m, expected, stored = r.measured, r.exactness.expected, r.exactness.stored
    mix = ", ".join(f"{kind} {n}" for kind, n in expected.types.most_common())
    replies = ", ".join(f"{outcome} {n}" for outcome, n in sorted(stored.replies.items()))
    lag = LiveSurveys.lag * LiveSurveys.events_per_survey() / args.rate
    return [
        backlog_note(
            m, "`simulate_feedback_scored`", "recipients hashed with a key of each seed's own"
        ),
        f"- Mix: {mix}. SMS replies as the service read them: {replies}.",
        "- Exactness: the per-day figures of `feedback_unit_daily`, summed, against counts "
        "taken from the simulator's events as they were produced: every survey.sent; the "
        "delivery failures and intended scores (`simulate_feedback_scored`: the first SMS "
        "reply holding a score, a scored form answer) of surveys sent in the backlog (a reply "
        "in its first days may answer a survey sent before it), by unit and NPS category.",
        *comparison_notes(
            m,
            BENCHMARK.naive_fields,
            args,
            f"surveys sent to new recipients, unit after unit; of every 100, 2 fail, 3 are "
            f"answered by the form and 26 get an SMS reply, ≈ {lag:.0f} s later",
        ),
        rss_note(m, r.rss),
        exit_note(m),
    ]


if __name__ == "__main__":
    sys.exit(main())
