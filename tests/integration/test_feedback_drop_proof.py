"""The NPS-drop detector (docs/nps-drop.md) on simulated feedback that went through the service:
parsed replies, matched surveys, per-day figures in PostgreSQL, each unit's evening as the
gauges compute it (`unit_windows`, the whole history).

The simulator's daily NPS is over-dispersed (a day effect of 6 points). One unit's NPS drops by
30 points from a visit day on; over the 40 days measured, when every unit already has the
baseline the CUSUM needs:

- the dropped unit's alarm is off the evening before the drop and on within 7 days of it
  (the unit has no visits at weekends; its surveys go out the day after the visit),
  with `since` on or after the drop;
- no other unit raises an alarm on any evening.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import EARLIEST
from services.common.nps_drop import Evening
from services.common.registry import load_registry
from services.common.settings import PROJECT_ROOT
from services.feedback_ingest import repository
from services.feedback_ingest.service import FeedbackIngest
from services.feedback_ingest.windows import unit_windows
from services.simulator.feedback import Drop, simulate_feedback
from tests.support.apply import apply_batch

HELSINKI = ZoneInfo("Europe/Helsinki")
REGISTRY = load_registry(PROJECT_ROOT / "infra" / "registry" / "demo.yaml")
START = datetime(2025, 9, 1, tzinfo=HELSINKI)
WARM_UP = 110  # days of history before the first evening measured
MEASURED_DAYS = 40
DROP_AFTER = 20  # the drop begins on this measured day
BIG_UNIT = "terveysasema-kouvola"


async def ingest(engine: AsyncEngine, events: Sequence[Any]) -> None:
    domain = FeedbackIngest(REGISTRY, HELSINKI)
    for n in range(0, len(events), 5000):
        await apply_batch(engine, domain, events[n : n + 5000])


async def evenings_on(engine: AsyncEngine, days: Sequence[date]) -> dict[str, list[Evening]]:
    """Per unit, its evening of each day, as feedback_ingest's refresh computes it then."""
    async with engine.connect() as conn:
        rows = [tuple(r) for r in await repository.unit_daily(conn, EARLIEST.date(), days[-1])]
    found: dict[str, list[Evening]] = {}
    for day in days:
        for unit, windows in unit_windows(rows, day).items():
            assert windows.drop is not None
            found.setdefault(unit, []).append(windows.drop)
    return found


def day(offset: int) -> date:
    return (START + timedelta(days=offset)).date()


async def test_a_real_drop_alarms_within_days_and_no_other_unit_alarms(
    engine: AsyncEngine,
) -> None:
    drop_day = day(WARM_UP + DROP_AFTER)
    end = START + timedelta(days=WARM_UP + MEASURED_DAYS)
    drop = Drop(BIG_UNIT, drop_day, -30.0)
    await ingest(engine, list(simulate_feedback(REGISTRY, START, end, 11, HELSINKI, "k", drop)))
    measured = [day(WARM_UP + n) for n in range(MEASURED_DAYS)]
    by_unit = await evenings_on(engine, measured)

    assert len(by_unit) == len(REGISTRY.units)
    big = {e.day: e for e in by_unit.pop(BIG_UNIT)}
    assert all(e.method == "cusum" for e in big.values())
    assert not big[drop_day - timedelta(days=1)].alarm
    first_alarm = min(d for d, e in big.items() if e.alarm)
    assert drop_day <= first_alarm <= drop_day + timedelta(days=7), first_alarm
    assert big[measured[-1]].alarm
    assert big[measured[-1]].since == first_alarm

    false_alarms = {unit: [e.day for e in es if e.alarm] for unit, es in by_unit.items()}
    assert false_alarms == {unit: [] for unit in by_unit}
    assert sum(e.method == "cusum" for es in by_unit.values() for e in es) > 0.8 * len(
        by_unit
    ) * len(measured)
