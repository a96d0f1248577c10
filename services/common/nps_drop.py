"""A sustained NPS drop of one unit, detected day by day (docs/nps-drop.md).

Each evening the unit's baseline is the 182 days that ended 28 days earlier: its shares of
promoters p0 and detractors d0, the per-response variance v of the score (+100, 0, -100) and
the day-to-day over-dispersion tau2 (method of moments). A CUSUM adds up each day's
quasi-log-likelihood ratio of "DESIGN_DROP points lower" against "as in the baseline", divided
by the day's dispersion factor phi (the llr's variance with tau2 over its variance without),
and alarms at H nats, staying on until it falls
under H / 2. While the baseline is too thin, the 7-day against 28-day z-test of
services/common/nps.py decides at z <= -3.09.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from typing import Literal, NamedTuple

from services.common.nps import Responses, drop_zscore

GUARD_DAYS = 28
"""A drop stays out of the baseline for this long."""
BASELINE_DAYS = 182
DESIGN_DROP = 20.0
"""The drop, in NPS points, the CUSUM is tuned to (chosen with bench/nps_alarms.py)."""
H = 8.0
"""Alarm threshold of the CUSUM, in nats (chosen with bench/nps_alarms.py)."""
MIN_BASELINE_RESPONSES = 200
MIN_BASELINE_DAYS = 56
"""Days with responses the baseline needs before the CUSUM is used."""
FALLBACK_Z = -3.09
"""One-sided 0.1 %: the fallback rule is for thin histories, so it is strict."""
FALLBACK_MIN_RESPONSES = 30
"""In the 7 days and in the 28 before them: a thinner window's variance can be 0 by chance."""
FALLBACK_RECENT_DAYS = 7
FALLBACK_BEFORE_DAYS = 28
MIN_DROPPED_PROMOTERS = 0.001

Method = Literal["cusum", "fallback", "none"]
NO_RESPONSES = Responses(0, 0, 0)


@dataclass(frozen=True, slots=True)
class DayCounts:
    day: date
    promoters: int
    passives: int
    detractors: int

    def __post_init__(self) -> None:
        if min(self.promoters, self.passives, self.detractors) < 0:
            raise ValueError(f"negative count on {self.day}")


@dataclass(frozen=True, slots=True)
class Evening:
    """The detector's state at the end of one day. `statistic`: S in nats (cusum), z
    (fallback) or 0 (none). `since`: the first day of the current run of alarm evenings."""

    day: date
    statistic: float
    alarm: bool
    since: date | None
    method: Method


@dataclass(frozen=True, slots=True)
class Design:
    """The tuning of the CUSUM; the module's constants unless a benchmark tries others."""

    drop: float = DESIGN_DROP
    h: float = H


DEFAULT_DESIGN = Design()


class Baseline(NamedTuple):
    p0: float
    d0: float
    mu: float
    v: float
    tau2: float


class Window:
    """Sliding sums over the days [t - lag - length, t - lag) of a list of daily counts, moved
    forward one day at a time, so that a day costs O(1) whatever the window's length."""

    __slots__ = (
        "at",
        "days",
        "days_with_responses",
        "detractors",
        "lag",
        "length",
        "passives",
        "promoters",
        "sum_inv_n",
        "sum_x",
        "sum_x2",
    )

    def __init__(self, days: Sequence[Responses], length: int, lag: int) -> None:
        self.days, self.length, self.lag, self.at = days, length, lag, -1
        self.promoters = self.passives = self.detractors = self.days_with_responses = 0
        self.sum_x = self.sum_x2 = self.sum_inv_n = 0.0

    def advance(self, t: int) -> None:
        """Move forward to day t, one day at a time."""
        while self.at < t:
            self.at += 1
            entering = self.at - self.lag - 1
            leaving = entering - self.length
            if 0 <= entering < len(self.days):
                self.add(self.days[entering], 1)
            if 0 <= leaving < len(self.days):
                self.add(self.days[leaving], -1)

    def add(self, counts: Responses, sign: int) -> None:
        n = counts.promoters + counts.passives + counts.detractors
        if not n:
            return
        x = 100 * (counts.promoters - counts.detractors) / n
        self.promoters += sign * counts.promoters
        self.passives += sign * counts.passives
        self.detractors += sign * counts.detractors
        self.days_with_responses += sign
        self.sum_x += sign * x
        self.sum_x2 += sign * x * x
        self.sum_inv_n += sign / n

    @property
    def enough(self) -> bool:
        n = self.promoters + self.passives + self.detractors
        return n >= MIN_BASELINE_RESPONSES and self.days_with_responses >= MIN_BASELINE_DAYS

    def baseline(self) -> Baseline:
        """Smoothed shares, v and tau2 (needs a day with responses in the window)."""
        n, k = self.promoters + self.passives + self.detractors, self.days_with_responses
        p0, d0 = (self.promoters + 0.5) / (n + 1.5), (self.detractors + 0.5) / (n + 1.5)
        mu = 100 * (p0 - d0)
        v = 100**2 * (p0 + d0 - (p0 - d0) ** 2)
        # mean over the days of (x_d - mu)^2 - v / n_d, from the sums
        moment = (self.sum_x2 - 2 * mu * self.sum_x) / k + mu * mu - v * self.sum_inv_n / k
        return Baseline(p0, d0, mu, v, max(0.0, moment))


def log_ratios(base: Baseline, drop: float = DESIGN_DROP) -> tuple[float, float]:
    """ln(p1 / p0) and ln(d1 / d0): what a promoter and a detractor add to the llr of a
    `drop` (drop / 200 of the share moved from promoters to detractors)."""
    p1 = max(base.p0 - drop / 200, MIN_DROPPED_PROMOTERS)
    return math.log(p1 / base.p0), math.log((base.d0 + drop / 200) / base.d0)


def dispersion(n: int, base: Baseline, drop: float = DESIGN_DROP) -> float:
    """phi: the variance of a day's llr over n responses, over what it would be were the
    responses independent. A day's level moving by eta points moves eta / 200 of the share
    between detractors and promoters, so the llr of a response moves by eta (a - b) / 200."""
    a, b = log_ratios(base, drop)
    mean = base.p0 * a + base.d0 * b
    variance = base.p0 * a * a + base.d0 * b * b - mean * mean
    return 1 + n * base.tau2 * ((a - b) / 200) ** 2 / variance


def increment(counts: Responses, base: Baseline, drop: float = DESIGN_DROP) -> float:
    """The day's quasi-log-likelihood ratio of a `drop` against the baseline, divided by the
    day's dispersion factor phi; 0 for a day without responses."""
    n = counts.count
    if not n:
        return 0.0
    a, b = log_ratios(base, drop)
    return (counts.promoters * a + counts.detractors * b) / dispersion(n, base, drop)


def evenings(
    days: Iterable[DayCounts], until: date | None = None, design: Design = DEFAULT_DESIGN
) -> list[Evening]:
    """One Evening per calendar day from the first day given to `until` (default: the last day
    given), missing days as no responses."""
    start, dense = _dense(days, until)
    first = start.toordinal()
    baseline = Window(dense, BASELINE_DAYS, GUARD_DAYS)
    fallback = _Fallback(dense)
    result: list[Evening] = []
    s, on, since = 0.0, False, None
    method: Method
    for t, counts in enumerate(dense):
        baseline.advance(t)
        day = date.fromordinal(first + t)
        if baseline.enough:
            s = max(0.0, s + increment(counts, baseline.baseline(), design.drop))
            on = s >= design.h or (on and s >= design.h / 2)
            statistic, method = s, "cusum"
        else:
            s = 0.0
            statistic, on, method = fallback.evening(t)
        since = (since or day) if on else None
        result.append(Evening(day, statistic, on, since, method))
    return result


def alarm_days(history: Mapping[str, Iterable[DayCounts]]) -> dict[str, list[date]]:
    """Per unit, the days on whose evening the alarm is on."""
    return {
        unit: [evening.day for evening in evenings(days) if evening.alarm]
        for unit, days in history.items()
    }


class _Fallback:
    """The 7 days t-6..t against the 28 before them: the z-test of services/common/nps.py,
    each window's variance raised by tau2 sum(n_d^2) / n^2 for its days' over-dispersion, tau2
    learned from up to BASELINE_DAYS before the 7 days."""

    def __init__(self, days: Sequence[Responses]) -> None:
        self.history = Window(days, BASELINE_DAYS, FALLBACK_RECENT_DAYS - 1)
        self.promoters = [0, *accumulate(c.promoters for c in days)]
        self.passives = [0, *accumulate(c.passives for c in days)]
        self.detractors = [0, *accumulate(c.detractors for c in days)]
        self.squares = [0, *accumulate(c.count**2 for c in days)]

    def evening(self, t: int) -> tuple[float, bool, Method]:
        start = t + 1 - FALLBACK_RECENT_DAYS
        recent, before = (
            self.between(start, t + 1),
            self.between(start - FALLBACK_BEFORE_DAYS, start),
        )
        if not recent.count or not before.count:
            return 0.0, False, "none"
        self.history.advance(t)
        tau2 = self.history.baseline().tau2
        extra = tau2 * (
            self.sum_of_squares(start, t + 1) / recent.count**2
            + self.sum_of_squares(start - FALLBACK_BEFORE_DAYS, start) / before.count**2
        )
        z = drop_zscore(recent, before, extra)
        if z is None:
            return 0.0, False, "none"
        enough = min(recent.count, before.count) >= FALLBACK_MIN_RESPONSES
        return z, z <= FALLBACK_Z and enough, "fallback"

    def between(self, start: int, stop: int) -> Responses:
        """The counts of the days [start, stop), days before the first counting as none."""
        start, stop = max(start, 0), max(stop, 0)
        return Responses(
            self.promoters[stop] - self.promoters[start],
            self.passives[stop] - self.passives[start],
            self.detractors[stop] - self.detractors[start],
        )

    def sum_of_squares(self, start: int, stop: int) -> int:
        """The sum of n_d^2 over the days [start, stop)."""
        return self.squares[max(stop, 0)] - self.squares[max(start, 0)]


def _dense(days: Iterable[DayCounts], until: date | None) -> tuple[date, list[Responses]]:
    """The first day and the counts of every day from it to `until`, a day given twice added
    up; (date.min, []) when nothing is on or before `until`."""
    summed: dict[date, tuple[int, int, int]] = {}
    for c in days:
        if until is None or c.day <= until:
            p, m, d = summed.get(c.day, (0, 0, 0))
            summed[c.day] = (p + c.promoters, m + c.passives, d + c.detractors)
    if not summed:
        return date.min, []
    first = min(summed)
    length = ((until or max(summed)) - first).days + 1
    dense = [NO_RESPONSES] * length
    for day, (p, m, d) in summed.items():
        dense[(day - first).days] = Responses(p, m, d)
    return first, dense
