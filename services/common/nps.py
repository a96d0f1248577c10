"""NPS, its 95 % confidence interval and the 7-day vs 28-day drop test (docs/metrics.md, Feedback).

For n responses with shares p of promoters (9-10) and d of detractors (0-6):
nps = 100 (p - d); its variance is 100^2 (p + d - (p - d)^2) / n, the variance of the mean of
a score that is +100, 0 or -100; ci95 = nps -/+ 1.96 sqrt(variance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Category = Literal["promoter", "passive", "detractor"]
DROP_Z = -2.33  # one-sided 1 %


def category(score: int) -> Category:
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


@dataclass(frozen=True, slots=True)
class Responses:
    promoters: int
    passives: int
    detractors: int

    @property
    def count(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def nps(self) -> float | None:
        if not self.count:
            return None
        return 100 * (self.promoters - self.detractors) / self.count

    @property
    def variance(self) -> float | None:
        if not self.count:
            return None
        p, d = self.promoters / self.count, self.detractors / self.count
        return 100**2 * (p + d - (p - d) ** 2) / self.count

    def ci95(self) -> tuple[float, float] | None:
        if self.nps is None or self.variance is None:
            return None
        half = 1.96 * math.sqrt(self.variance)
        return self.nps - half, self.nps + half


def drop_zscore(
    last_7_days: Responses, the_28_before: Responses, over_dispersion: float = 0.0
) -> float | None:
    """z = (nps7 - nps28) / sqrt(var7 + var28 + over_dispersion); None where it is not defined
    (no responses in a window, or no spread at all)."""
    nps7, nps28 = last_7_days.nps, the_28_before.nps
    var7, var28 = last_7_days.variance, the_28_before.variance
    if nps7 is None or nps28 is None or var7 is None or var28 is None:
        return None
    variance = var7 + var28 + over_dispersion
    return (nps7 - nps28) / math.sqrt(variance) if variance else None


def is_drop(z: float | None, last_7_days: Responses, min_alert_responses: int = 30) -> bool:
    """A real drop: z at or under -2.33 with enough responses in the last 7 days."""
    return z is not None and z <= DROP_Z and last_7_days.count >= min_alert_responses
