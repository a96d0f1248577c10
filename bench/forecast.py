"""`python -m bench.forecast`: the staffing forecast backtested on the simulator's chat.

The demo county's chat (5 seeds, the replay's volume) is simulated over the 6 weeks of
history and the 4 weeks of test days, and stored through chat_metrics' domain into an
embedded PostgreSQL. Then, for each test day, the forecast reads only the history before that
day (`load_histories(first=day, until=day)`, as on the morning of the day) and forecasts every
open hour of every queue; the entries that came are read the same way once the day is over.

Printed per queue and for all: mean absolute error per open hour (MAE), mean absolute
percentage error over the open hours that had entries (MAPE), the same for the naive forecast
"as many as the same hour a week before", and the share of open hours with entries whose
advised staffing would have met the target: the model's service level with the advised
professionals, at the entries that came (same handle time, patience and concurrency), is at
least 80 %. Writes the "staffing forecast: backtest" section of bench/RESULTS.md.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.harness import suite_arguments
from bench.infra import DEMO_REGISTRY, embedded_database
from bench.monthly_report import TZ, Loaded, apply_all, merged
from bench.report import write_section
from services.chat_metrics.exports import ChatExports, wait_histogram
from services.chat_metrics.queues import QueueRules
from services.chat_metrics.service import ChatMetrics
from services.common.chat_forecast import (
    WEEKS,
    QueueHistory,
    forecast_hour,
    load_histories,
)
from services.common.db import create_engine
from services.common.erlang import Load, staffing
from services.common.events import Envelope
from services.common.registry import Queue, Registry, load_registry
from services.simulator.chat import simulate_chat

SECTION = "staffing forecast: backtest"
FIRST_TEST_DAY = date(2025, 10, 13)  # a Monday; 6 weeks of history from 2025-09-01
TEST_DAYS = 28
SEEDS = 5


@dataclass
class Errors:
    """Open hours of one queue (or all), and how the forecasts did."""

    hours: int = 0
    absolute: float = 0.0  # sum of |forecast - came|
    naive_absolute: float = 0.0
    with_entries: int = 0
    relative: float = 0.0  # sum of |forecast - came| / came, hours with entries
    naive_relative: float = 0.0
    advised: int = 0  # hours with entries and an advice
    met: int = 0  # of those, the advice met the target at the entries that came

    def add(self, forecast: float, naive: int, came: int, met: bool | None) -> None:
        self.hours += 1
        self.absolute += abs(forecast - came)
        self.naive_absolute += abs(naive - came)
        if came:
            self.with_entries += 1
            self.relative += abs(forecast - came) / came
            self.naive_relative += abs(naive - came) / came
        if came and met is not None:
            self.advised += 1
            self.met += met

    def row(self, name: str) -> str:
        n, m = max(self.hours, 1), max(self.with_entries, 1)
        return (
            f"| {name} | {self.hours} | {self.absolute / n:.2f} | {self.relative / m:.1%} | "
            f"{self.naive_absolute / n:.2f} | {self.naive_relative / m:.1%} | "
            f"{self.met / max(self.advised, 1):.1%} ({self.met} of {self.advised}) |"
        )


@dataclass
class Backtest:
    queues: dict[str, Errors] = field(default_factory=lambda: defaultdict(Errors))
    events: int = 0
    load_seconds: float = 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = suite_arguments("python -m bench.forecast", __doc__)
    args = parser.parse_args(argv)
    with embedded_database("kanava-bench-forecast-") as url:
        result = asyncio.run(run(url))
    body = render(result)
    print(body)
    if not args.no_write:
        write_section(SECTION, body)
        print(f"wrote the section `{SECTION}` of bench/RESULTS.md")
    return 0


async def run(url: str) -> Backtest:
    registry = load_registry(DEMO_REGISTRY)
    engine = create_engine(url)
    result = Backtest()
    try:
        result.events, result.load_seconds = await load(engine, registry)
        for offset in range(TEST_DAYS):
            await test_day(engine, registry, FIRST_TEST_DAY + timedelta(days=offset), result)
    finally:
        await engine.dispose()
    return result


async def load(engine: AsyncEngine, registry: Registry) -> tuple[int, float]:
    started = time.perf_counter()
    start = datetime.combine(FIRST_TEST_DAY - timedelta(weeks=WEEKS), datetime.min.time(), TZ)
    end = datetime.combine(FIRST_TEST_DAY + timedelta(days=TEST_DAYS), datetime.min.time(), TZ)

    def chat_run(seed: int, a: datetime, b: datetime) -> list[Envelope]:
        return list(simulate_chat(registry, a, b, seed, TZ))

    domain = ChatMetrics(QueueRules(registry, TZ), ChatExports(wait_histogram([60, 120])))
    loaded = Loaded()
    print(f"storing the chat of {start:%Y-%m-%d} to {end:%Y-%m-%d}", file=sys.stderr)
    await apply_all(engine, domain, merged(chat_run, SEEDS, start, end), loaded, "chat")
    return loaded.events["chat"], time.perf_counter() - started


async def test_day(engine: AsyncEngine, registry: Registry, day: date, result: Backtest) -> None:
    ids = [q.id for q in registry.queues]
    async with engine.connect() as conn:
        before = await load_histories(conn, ids, day, day, TZ)
        after = await load_histories(
            conn, ids, day + timedelta(days=1), day + timedelta(days=1), TZ
        )
    for queue in registry.queues:
        for hour in range(24):
            forecast = forecast_hour(queue, before[queue.id], day, hour, TZ)
            if not forecast.open or forecast.expected_offered is None:
                continue
            came = after[queue.id].offered.get((day, hour), 0)
            naive = before[queue.id].offered.get((day - timedelta(weeks=1), hour), 0)
            met = enough(queue, before[queue.id], forecast.professionals, came)
            for errors in (result.queues[queue.id], result.queues[""]):
                errors.add(forecast.expected_offered, naive, came, met)


def enough(
    queue: Queue, history: QueueHistory, professionals: int | None, came: int
) -> bool | None:
    """Whether the advised professionals meet the target at the entries that came."""
    if professionals is None or history.handle_seconds is None:
        return None
    load = Load(came, history.handle_seconds, history.concurrency, history.patience_seconds)
    level = staffing(load, professionals, queue.service_level_seconds).service_level
    return level >= queue.service_level_target


def render(result: Backtest) -> str:
    last = FIRST_TEST_DAY + timedelta(days=TEST_DAYS - 1)
    rows = [
        f"Run with `python -m bench.forecast`: the demo registry's chat, {SEEDS} seeds "
        f"({result.events} events stored through chat_metrics' domain in "
        f"{result.load_seconds:.0f} s), test days {FIRST_TEST_DAY} to {last}, each forecast "
        f"from the {WEEKS} weeks before it. Errors per open hour of a queue.",
        "",
        "| queue | open hours | MAE | MAPE | MAE, same hour a week before | MAPE, same hour a "
        "week before | advice met the target at the entries that came |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows += [errors.row(q) for q, errors in sorted(result.queues.items()) if q]
    rows.append(result.queues[""].row("all queues"))
    rows += [
        "",
        "MAPE is over the open hours that had entries. The advice is met when the model's "
        "service level with the advised professionals, at the entries that came, is at least "
        "the queue's target (80 % in the demo registry).",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
