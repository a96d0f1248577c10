"""NPS per unit over its windows (7, 28 and 30 local days ending today) and the drop test (the
last 7 days against the 28 days before them), as docs/metrics.md defines them. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.common.nps import Responses, drop_zscore

WINDOWS = {"7d": 7, "28d": 28, "30d": 30}
DROP_RECENT_DAYS, DROP_BASELINE_DAYS = 7, 28
DAYS_NEEDED = max(*WINDOWS.values(), DROP_RECENT_DAYS + DROP_BASELINE_DAYS)

# (unit_id, day, surveys_sent, delivery_failed, promoters, passives, detractors)
DayRow = tuple[str, date, int, int, int, int, int]
NO_RESPONSES = Responses(0, 0, 0)


@dataclass(frozen=True, slots=True)
class Window:
    sent: int = 0
    delivery_failed: int = 0
    responses: Responses = NO_RESPONSES

    def __add__(self, other: Window) -> Window:
        a, b = self.responses, other.responses
        return Window(
            self.sent + other.sent,
            self.delivery_failed + other.delivery_failed,
            Responses(
                a.promoters + b.promoters, a.passives + b.passives, a.detractors + b.detractors
            ),
        )

    @property
    def response_ratio(self) -> float | None:
        delivered = self.sent - self.delivery_failed
        return self.responses.count / delivered if delivered > 0 else None


@dataclass(slots=True)
class UnitWindows:
    windows: dict[str, Window] = field(default_factory=lambda: dict.fromkeys(WINDOWS, Window()))
    recent: Window = Window()  # the last 7 days, for the drop test
    baseline: Window = Window()  # the 28 days before them

    @property
    def drop_zscore(self) -> float | None:
        return drop_zscore(self.recent.responses, self.baseline.responses)


def first_day(today: date) -> date:
    """The earliest day any window of `today` reads."""
    return today - timedelta(days=DAYS_NEEDED - 1)


def unit_windows(rows: Iterable[DayRow], today: date) -> dict[str, UnitWindows]:
    units: dict[str, UnitWindows] = {}
    for unit_id, day, sent, failed, promoters, passives, detractors in rows:
        age = (today - day).days  # 0 = today
        if not 0 <= age < DAYS_NEEDED:
            continue
        figures = Window(sent, failed, Responses(promoters, passives, detractors))
        unit = units.setdefault(unit_id, UnitWindows())
        for name, days in WINDOWS.items():
            if age < days:
                unit.windows[name] += figures
        if age < DROP_RECENT_DAYS:
            unit.recent += figures
        else:
            unit.baseline += figures
    return units
