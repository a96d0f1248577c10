"""A sustained NPS drop of one unit, detected day by day (docs/nps-drop.md).

Each evening the unit's baseline is the 182 days that ended 28 days earlier: its shares of
promoters, passives and detractors and their day-to-day covariance beyond chance (the spread,
method of moments). Three CUSUMs add up each day's quasi-log-likelihood ratio of "DESIGN_DROP
points lower" against "as in the baseline", the drop made up three ways (promoters to
detractors, promoters to passives, passives to detractors), each divided by the day's
dispersion factor phi (the llr's variance with the spread over its variance without). The
alarm comes on when the largest reaches H nats and stays on until it falls under H / 2.
While the baseline is too thin, the 7-day against 28-day z-test of services/common/nps.py,
allowing for over-dispersion, decides at z <= -3.09.
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
H = 9.0
"""Alarm threshold of the CUSUM, in nats (chosen with bench/nps_alarms.py)."""
MIN_BASELINE_RESPONSES = 200
MIN_BASELINE_DAYS = 56
"""Days with responses the baseline needs before the CUSUM is used."""
MIN_SHARE = 0.001
"""What a drop leaves of the share it moves answers from, so that the ratios stay finite."""
FALLBACK_Z = -3.09
"""One-sided 0.1 %: the fallback rule is for thin histories, so it is strict."""
FALLBACK_MIN_RESPONSES = 30
"""In the 7 days and in the 28 before them: a thinner window's variance can be 0 by chance."""
FALLBACK_RECENT_DAYS = 7
FALLBACK_BEFORE_DAYS = 28

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
    """What a unit's baseline holds: its smoothed shares of promoters p0 and detractors d0, and
    their day-to-day covariance beyond chance (var p, cov p d, var d) by the method of
    moments; the rest follows from these."""

    p0: float
    d0: float
    spread: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def shares(self) -> tuple[float, float, float]:
        """Promoters, passives and detractors (each smoothed, so never 0)."""
        return self.p0, 1 - self.p0 - self.d0, self.d0

    @property
    def mu(self) -> float:
        """The baseline NPS."""
        return 100 * (self.p0 - self.d0)

    @property
    def v(self) -> float:
        """The variance of one answer's score (+100, 0, -100)."""
        return 100**2 * (self.p0 + self.d0 - (self.p0 - self.d0) ** 2)

    @property
    def tau2(self) -> float:
        """The day-to-day variance of the NPS beyond chance (at least 0)."""
        pp, pd, dd = self.spread
        return max(0.0, 100**2 * (pp - 2 * pd + dd))


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
        "sum_d",
        "sum_dd",
        "sum_inv_n",
        "sum_p",
        "sum_pd",
        "sum_pp",
    )

    def __init__(self, days: Sequence[Responses], length: int, lag: int) -> None:
        self.days, self.length, self.lag, self.at = days, length, lag, -1
        self.promoters = self.passives = self.detractors = self.days_with_responses = 0
        self.sum_p = self.sum_d = self.sum_pp = self.sum_pd = self.sum_dd = 0.0
        self.sum_inv_n = 0.0

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
        n = counts.count
        if not n:
            return
        p, d = counts.promoters / n, counts.detractors / n
        self.promoters += sign * counts.promoters
        self.passives += sign * counts.passives
        self.detractors += sign * counts.detractors
        self.days_with_responses += sign
        self.sum_p += sign * p
        self.sum_d += sign * d
        self.sum_pp += sign * p * p
        self.sum_pd += sign * p * d
        self.sum_dd += sign * d * d
        self.sum_inv_n += sign / n

    @property
    def enough(self) -> bool:
        n = self.promoters + self.passives + self.detractors
        return n >= MIN_BASELINE_RESPONSES and self.days_with_responses >= MIN_BASELINE_DAYS

    def baseline(self) -> Baseline:
        """Smoothed shares and the spread (needs a day with responses)."""
        n, k = self.promoters + self.passives + self.detractors, self.days_with_responses
        p0, d0 = (self.promoters + 0.5) / (n + 1.5), (self.detractors + 0.5) / (n + 1.5)
        inv_n = self.sum_inv_n / k
        # mean over the days of (p_d - p0)(d_d - d0) etc., less what chance gives
        # (the multinomial's p0 (1 - p0) / n_d, -p0 d0 / n_d, d0 (1 - d0) / n_d)
        pp = (self.sum_pp - 2 * p0 * self.sum_p) / k + p0 * p0 - p0 * (1 - p0) * inv_n
        pd = (self.sum_pd - d0 * self.sum_p - p0 * self.sum_d) / k + p0 * d0 + p0 * d0 * inv_n
        dd = (self.sum_dd - 2 * d0 * self.sum_d) / k + d0 * d0 - d0 * (1 - d0) * inv_n
        return Baseline(p0, d0, (pp, pd, dd))


Weights = tuple[float, float, float]
"""What one promoter, passive and detractor add to a day's log-likelihood ratio."""


@dataclass(frozen=True, slots=True)
class Move:
    """One way a drop can be made up: `per_point` of the share per NPS point moves from the
    answers at index `source` to those at `target` (0 promoters, 1 passives, 2 detractors)."""

    source: int
    target: int
    per_point: float


MOVES = (Move(0, 2, 1 / 200), Move(0, 1, 1 / 100), Move(1, 2, 1 / 100))
"""Promoters to detractors, promoters to passives, passives to detractors: a drop of d points
moves d / 200, d / 100 and d / 100 of the answers."""


def weights(base: Baseline, move: Move, drop: float = DESIGN_DROP) -> Weights:
    """ln(q1_k / q0_k) of the alternative "a `drop` made up by `move`" (at most all but
    MIN_SHARE of the source share moves)."""
    q0 = base.shares
    moved = min(drop * move.per_point, q0[move.source] - MIN_SHARE)
    q1 = list(q0)
    q1[move.source] -= moved
    q1[move.target] += moved
    return (math.log(q1[0] / q0[0]), math.log(q1[1] / q0[1]), math.log(q1[2] / q0[2]))


def dispersion(n: int, base: Baseline, w: Weights) -> float:
    """phi: the variance of a day's llr over what it would be were its n responses
    independent, 1 + n b / w: w the variance of one answer's llr, b the day-to-day variance
    of the mean llr of a day's answers, (w_p - w_m, w_d - w_m) S (w_p - w_m, w_d - w_m)' with S
    the unit's spread. Whichever answers a unit's good and bad days move, phi follows."""
    p0, m0, d0 = base.shares
    mean = p0 * w[0] + m0 * w[1] + d0 * w[2]
    variance = p0 * w[0] ** 2 + m0 * w[1] ** 2 + d0 * w[2] ** 2 - mean * mean
    alpha, beta = w[0] - w[1], w[2] - w[1]
    pp, pd, dd = base.spread
    between = max(0.0, alpha * alpha * pp + 2 * alpha * beta * pd + beta * beta * dd)
    return 1 + n * between / variance


def increments(counts: Responses, base: Baseline, drop: float = DESIGN_DROP) -> list[float]:
    """Per move of MOVES, the day's quasi-log-likelihood ratio of a `drop` made up that way
    against the baseline, divided by its dispersion factor phi; 0 without responses."""
    n = counts.count
    if not n:
        return [0.0] * len(MOVES)
    result = []
    for move in MOVES:
        w = weights(base, move, drop)
        llr = counts.promoters * w[0] + counts.passives * w[1] + counts.detractors * w[2]
        result.append(llr / dispersion(n, base, w))
    return result


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
    sums, on, since = [0.0] * len(MOVES), False, None
    method: Method
    for t, counts in enumerate(dense):
        baseline.advance(t)
        day = date.fromordinal(first + t)
        if baseline.enough:
            steps = increments(counts, baseline.baseline(), design.drop)
            sums = [max(0.0, s + step) for s, step in zip(sums, steps, strict=True)]
            statistic, method = max(sums), "cusum"
            on = statistic >= design.h or (on and statistic >= design.h / 2)
        else:
            sums = [0.0] * len(MOVES)
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
