"""NPS per unit over its windows (7, 28 and 30 local days ending today), the descriptive drop
z-score (the last 7 days against the 28 days before them), as docs/metrics.md defines them, and
the NPS-drop detector's state this evening (docs/nps-drop.md) from the unit's whole history.
Pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from services.common.nps import Responses, drop_zscore
from services.common.nps_drop import DayCounts, Evening, evenings

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
    recent: Window = Window()  # the last 7 days, for the drop z-score
    baseline: Window = Window()  # the 28 days before them
    drop: Evening | None = None  # the detector this evening; None without any history

    @property
    def drop_zscore(self) -> float | None:
        return drop_zscore(self.recent.responses, self.baseline.responses)


def unit_windows(rows: Iterable[DayRow], today: date) -> dict[str, UnitWindows]:
    """The windows of `today` from rows of at least their days, and the detector's evening
    from each unit's whole history in `rows` (every day up to today)."""
    units: dict[str, UnitWindows] = {}
    history: dict[str, list[DayCounts]] = {}
    for unit_id, day, sent, failed, promoters, passives, detractors in rows:
        if day <= today:
            history.setdefault(unit_id, []).append(DayCounts(day, promoters, passives, detractors))
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
    for unit_id, counted in history.items():
        units.setdefault(unit_id, UnitWindows()).drop = evenings(counted, until=today)[-1]
    return units
