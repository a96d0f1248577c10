"""`python -m bench.freshness`: how soon an event appended to Kafka is visible on the service's
/metrics and as a number in the gateway API, at steady 100, 1 000 and 5 000 events/s.

chat_metrics and the gateway (`python -m services.gateway`) run against the benchmark's own
broker and database. After one warm-up contact has gone through, at each rate new contacts
(each queued, answered 1 000 and closed 3 000 contacts later, as in the chat benchmark;
time = now) are produced at a steady pace, a batch every 10 ms. Meanwhile two pollers run
every 50 ms: the sum of `kanava_chat_offered_total` on the service's /metrics, and the sum of
`offered` of `GET /v1/chat/stats?from=<today>&to=<today>`. The k-th `chat.queued`
acknowledged by the broker counts as visible at the first poll whose count (less the count
before the rate began) is at least k: its freshness is that poll's time minus the ack. The
service commits each lane's partitions on their own (KANAVA_CONSUMER_LANES), so the k-th
visible event need not be the k-th acknowledged: the figure is how far the visible count
trails the acknowledged one, which is what a reader of the dashboard sees.
Writes the "freshness" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import httpx

from bench.events import LiveContacts
from bench.figures import header, ms, phases_table
from bench.gateway import GatewayProcess, read_token
from bench.harness import PARTITIONS, TZ, Phases, command, run_main, suite_arguments, timed
from bench.infra import DEMO_REGISTRY, Infra, ServiceProcess, infrastructure
from bench.measure import Ack, freshness_buckets, pace, scrape
from bench.promtext import percentile, quantile
from bench.report import Figure, rate, table
from services.chat_metrics.queues import QueueRules
from services.common.events import CHAT
from services.common.registry import load_registry

QUEUED = "chat.queued"
OFFERED = "kanava_chat_offered_total"
RATES = ((100.0, 60.0), (1000.0, 30.0), (5000.0, 20.0))
"""(events/s, seconds at that rate)."""
Read = Callable[[], Awaitable[float]]
Seen = list[tuple[float, float]]
"""(monotonic time of a poll, count it showed)."""


@dataclass(frozen=True)
class Visibility:
    p50: float
    p99: float
    max: float
    matched: int
    polls: int
    poll_p50: float
    """Median time one poll took (request to parsed answer)."""


@dataclass(frozen=True)
class RateRun:
    rate: float
    seconds: float
    sent: int
    queued: int
    send_seconds: float
    metrics: Visibility
    api: Visibility
    commit: tuple[float, float] = (math.nan, math.nan)
    """p50, p99 of the service's own histogram (record timestamp → PostgreSQL commit)."""

    @property
    def achieved(self) -> float:
        return self.sent / self.send_seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = suite_arguments("python -m bench.freshness", __doc__)
    parser.add_argument("--every", type=float, default=0.05, help="poll interval, s (0.05)")
    parser.add_argument(
        "--short", action="store_true", help="5 s per rate instead of 60/30/20 (a quick try)"
    )
    args = parser.parse_args(argv)

    def render(runs: list[RateRun], phases: Phases, busy: float) -> str:
        head = header(
            command("bench.freshness", "bench-freshness", argv),
            busy,
            f"`{CHAT.topic}` with {PARTITIONS} partitions; chat_metrics (batches of at most "
            "5000 records) and the gateway, each its own process",
        )
        return "\n\n".join([head, table(figures(runs)), notes(runs, args), phases_table(phases)])

    return run_main("freshness", args, measure, render)


def measure(args: argparse.Namespace, phases: Phases) -> list[RateRun]:
    rules = QueueRules(load_registry(DEMO_REGISTRY), TZ)
    with infrastructure(PARTITIONS) as infra:
        return asyncio.run(run(infra, rules, args, phases))


async def run(
    infra: Infra, rules: QueueRules, args: argparse.Namespace, phases: Phases
) -> list[RateRun]:
    service = ServiceProcess(infra, "chat_metrics", CHAT.topic)
    gateway = GatewayProcess(infra)
    token = await read_token(infra)
    runs = []
    try:
        with timed(phases, "start chat_metrics and the gateway"):
            service.start()
            await gateway.start_ready()
        async with (
            httpx.AsyncClient(timeout=10) as metrics_client,
            httpx.AsyncClient(
                base_url=gateway.base_url,
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ) as api_client,
        ):
            read_metrics = _metrics_reader(metrics_client, service.metrics_url())
            read_api = _api_reader(api_client)
            with timed(phases, "warm-up: one contact through to the API"):
                await warm_up(infra, rules, read_api)
            for number, (events_per_s, seconds) in enumerate(RATES):
                live = LiveContacts(f"fresh-{number}", rules.known())
                with timed(phases, f"{events_per_s:.0f} events/s"):
                    before = await scrape(service)
                    done = await at_rate(
                        infra,
                        live,
                        events_per_s,
                        5.0 if args.short else seconds,
                        (read_metrics, read_api),
                        args.every,
                    )
                    after = await scrape(service)
                    runs.append(replace(done, commit=commit_quantiles(before, after)))
                service.check_alive()
    finally:
        gateway.stop()
        service.stop()
    return runs


async def warm_up(infra: Infra, rules: QueueRules, read_api: Read, within: float = 60.0) -> None:
    """One contact queued and waited for in the API, so that the service has joined its
    group and every part has served once before anything is timed."""
    live = LiveContacts("fresh-warm-up", rules.known())
    await pace(infra.bootstrap, CHAT.topic, live, 1.0, 1.0, [])
    deadline = time.monotonic() + within
    while await read_api() < 1:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the warm-up contact was not in the API within {within} s")
        await asyncio.sleep(0.1)


def commit_quantiles(before: str, after: str) -> tuple[float, float]:
    buckets = freshness_buckets("chat_metrics", before, after)
    return quantile(0.5, buckets), quantile(0.99, buckets)


def _metrics_reader(client: httpx.AsyncClient, url: str) -> Read:
    async def read() -> float:
        response = await client.get(url)
        response.raise_for_status()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in response.text.splitlines()
            if line.startswith(OFFERED)
        )

    return read


def _api_reader(client: httpx.AsyncClient) -> Read:
    async def read() -> float:
        today = datetime.now(TZ).date().isoformat()
        response = await client.get("/v1/chat/stats", params={"from": today, "to": today})
        response.raise_for_status()
        return float(sum(row["offered"] for row in response.json()["rows"]))

    return read


async def at_rate(
    infra: Infra,
    live: LiveContacts,
    events_per_s: float,
    seconds: float,
    readers: tuple[Read, Read],
    every: float,
) -> RateRun:
    baselines = [await read() for read in readers]
    seen: tuple[Seen, Seen] = ([], [])
    timings: tuple[list[float], list[float]] = ([], [])
    stop = asyncio.Event()
    pollers = [
        asyncio.create_task(_poll(read, log, took, stop, every))
        for read, log, took in zip(readers, seen, timings, strict=True)
    ]
    acks: list[Ack] = []
    try:
        started = time.monotonic()
        await pace(infra.bootstrap, CHAT.topic, live, events_per_s, seconds, acks)
        send_seconds = time.monotonic() - started
        queued = sorted(a.at for a in acks if a.kind == QUEUED)
        await _until_seen(seen, baselines, len(queued), within=120.0)
    finally:
        stop.set()
        await asyncio.gather(*pollers)
    metrics, api = (
        visibility(queued, log, base, took)
        for log, base, took in zip(seen, baselines, timings, strict=True)
    )
    return RateRun(events_per_s, seconds, len(acks), len(queued), send_seconds, metrics, api)


async def _poll(
    read: Read, seen: Seen, took: list[float], stop: asyncio.Event, every: float
) -> None:
    while not stop.is_set():
        tick = time.monotonic()
        count = await read()
        now = time.monotonic()
        seen.append((now, count))
        took.append(now - tick)
        await asyncio.sleep(max(0.0, every - (now - tick)))


async def _until_seen(
    seen: tuple[Seen, Seen], baselines: list[float], queued: int, within: float
) -> None:
    deadline = time.monotonic() + within
    pending = list(zip(seen, baselines, strict=True))
    while any(not log or log[-1][1] - base < queued for log, base in pending):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{queued} queued contacts not all visible within {within} s")
        await asyncio.sleep(0.05)


def visibility(queued: list[float], seen: Seen, baseline: float, took: list[float]) -> Visibility:
    counts = [count - baseline for _, count in seen]
    latencies = []
    for k, acked in enumerate(queued, start=1):
        index = bisect_left(counts, k)
        if index < len(seen):
            latencies.append(seen[index][0] - acked)
    return Visibility(
        p50=percentile(0.5, latencies),
        p99=percentile(0.99, latencies),
        max=max(latencies, default=float("nan")),
        matched=len(latencies),
        polls=len(seen),
        poll_p50=percentile(0.5, took),
    )


def figures(runs: list[RateRun]) -> list[Figure]:
    rows = []
    for r in runs:
        label = f"{r.rate:.0f} events/s"
        rows += [
            Figure(f"{label}: rate achieved", f"{rate(r.achieved)} ({r.sent} events)"),
            Figure(f"{label}: append → /metrics p50 / p99",
                   f"{ms(r.metrics.p50)} / {ms(r.metrics.p99)}", "p99 < 1 s", r.metrics.p99 < 1),
            Figure(f"{label}: append → gateway API p50 / p99",
                   f"{ms(r.api.p50)} / {ms(r.api.p99)}", "p99 < 1 s", r.api.p99 < 1),
            Figure(f"{label}: record → PostgreSQL commit p50 / p99 (service histogram)",
                   f"{ms(r.commit[0])} / {ms(r.commit[1])}"),
        ]  # fmt: skip
    return rows


def notes(runs: list[RateRun], args: argparse.Namespace) -> str:
    lines = [
        f"- {r.rate:.0f} events/s for {r.seconds:.0f} s: {r.queued} `chat.queued` matched "
        f"({r.metrics.matched} on /metrics, {r.api.matched} in the API); max "
        f"{ms(r.metrics.max)} / {ms(r.api.max)}; {r.metrics.polls} / {r.api.polls} polls, a "
        f"poll took {ms(r.metrics.poll_p50)} / {ms(r.api.poll_p50)} (median)."
        for r in runs
    ]
    return (
        f"How: see the module's docstring. Polls every {args.every * 1000:.0f} ms, so each "
        "figure includes up to that much polling delay; the ack is the producer's (acks=all), "
        "right after the broker appended the batch. The target (p99 < 1 s) is the one the "
        "service benchmarks hold the service's own freshness histogram to.\n" + "\n".join(lines)
    )


if __name__ == "__main__":
    sys.exit(main())
