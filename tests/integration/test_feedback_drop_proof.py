"""The NPS drop test of docs/metrics.md on simulated feedback that went through the service: parsed
replies, matched surveys, per-day figures in PostgreSQL, windows as the gauges compute them.

- With a real drop (-30 points in one unit from a given visit day) the z-score crosses -2.33
  within 7 days of data.
- Without one, over 60 simulated days across all units, it stays above -2.33 on at least 99 %
  of the unit-days where the test applies (>= 30 responses in the last 7 days).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.nps import DROP_Z
from services.common.registry import load_registry
from services.common.settings import PROJECT_ROOT
from services.feedback_ingest import repository
from services.feedback_ingest.exports import Thresholds
from services.feedback_ingest.service import FeedbackIngest
from services.feedback_ingest.windows import DAYS_NEEDED, UnitWindows, first_day, unit_windows
from services.simulator.feedback import Drop, simulate_feedback
from tests.support.apply import apply_batch

HELSINKI = ZoneInfo("Europe/Helsinki")
REGISTRY = load_registry(PROJECT_ROOT / "infra" / "registry" / "demo.yaml")
START = datetime(2025, 9, 1, tzinfo=HELSINKI)
WARM_UP = DAYS_NEEDED  # days before the first day a full drop test exists
MEASURED_DAYS = 60
THRESHOLDS = Thresholds()
BIG_UNIT = "terveysasema-kouvola"


async def ingest(engine: AsyncEngine, events: Sequence[Any]) -> FeedbackIngest:
    domain = FeedbackIngest(REGISTRY, HELSINKI)
    for n in range(0, len(events), 5000):
        await apply_batch(engine, domain, events[n : n + 5000])
    return domain


async def windows_on(engine: AsyncEngine, days: Sequence[date]) -> dict[date, dict[str, Any]]:
    async with engine.connect() as conn:
        rows = [tuple(r) for r in await repository.unit_daily(conn, first_day(days[0]), days[-1])]
    return {day: unit_windows(rows, day) for day in days}


def drop_test_applies(unit: UnitWindows) -> bool:
    return (
        unit.drop_zscore is not None
        and unit.recent.responses.count >= THRESHOLDS.min_alert_responses
        and unit.baseline.responses.count >= THRESHOLDS.min_responses
    )


def day(offset: int) -> date:
    return (START + timedelta(days=offset)).date()


async def test_without_a_drop_99_percent_of_unit_days_stay_above_the_limit(
    engine: AsyncEngine,
) -> None:
    end = START + timedelta(days=WARM_UP + MEASURED_DAYS)
    await ingest(engine, list(simulate_feedback(REGISTRY, START, end, 11, HELSINKI, "k")))
    measured = [day(WARM_UP + n) for n in range(MEASURED_DAYS)]
    by_day = await windows_on(engine, measured)
    tested = [u for units in by_day.values() for u in units.values() if drop_test_applies(u)]
    alarms = [u for u in tested if u.drop_zscore is not None and u.drop_zscore <= DROP_Z]
    assert len(tested) >= 5 * MEASURED_DAYS, "the test must apply to most units' days"
    assert len(alarms) <= 0.01 * len(tested), (len(alarms), len(tested))


async def test_a_real_drop_crosses_the_limit_within_7_days(engine: AsyncEngine) -> None:
    drop_day = day(WARM_UP)
    end = START + timedelta(days=WARM_UP + 7)  # 7 days of data from the drop on
    drop = Drop(BIG_UNIT, drop_day, -30.0)
    events = list(simulate_feedback(REGISTRY, START, end, 11, HELSINKI, "k", drop))
    await ingest(engine, events)
    by_day = await windows_on(engine, [drop_day - timedelta(days=1), day(WARM_UP + 6)])
    before, after = (by_day[d][BIG_UNIT] for d in sorted(by_day))
    assert drop_test_applies(before)
    assert drop_test_applies(after)
    assert (before.drop_zscore or 0) > DROP_Z
    assert (after.drop_zscore or 0) <= DROP_Z
