"""The NPS drop detector against numbers worked out by hand (docs/nps-drop.md, worked example).

The worked example: from 2025-08-04 (day 0) a unit has 20 responses every day, alternately
B = (12 promoters, 2 passives, 6 detractors; x = 100 (12 - 6) / 20 = 30) on even days and
A = (16, 2, 2; x = 70) on odd days, up to day 209 (2026-03-01). Then four bad days
C = (8, 2, 10) (2026-03-02..05) and four A days again (2026-03-06..09).

Baseline of each evening 2026-03-02..09: the 182 days that ended 28 days before, 91 A and 91 B:
  n = 3640, P = 91 x 28 = 2548, D = 91 x 8 = 728
  p0 = 2548.5 / 3641.5 = 0.699849          d0 = 728.5 / 3641.5 = 0.200055
  mu = 100 (p0 - d0) = 49.9794
  v = 10^4 (p0 + d0 - (p0 - d0)^2) = 10^4 (0.899904 - 0.249794) = 6501.10
  tau2 = mean((x - mu)^2) - v / 20 = (20.0206^2 + 19.9794^2) / 2 - 325.055
       = 400.000 - 325.055 = 74.9455
The drop of DESIGN_DROP = 20 points: p1 = p0 - 0.1 = 0.599849, d1 = d0 + 0.1 = 0.300055;
  a = ln(p1 / p0) = -0.154187, b = ln(d1 / d0) = 0.405374
The llr of one response: mean m = p0 a + d0 b = -0.026810, variance
  p0 a^2 + d0 b^2 - m^2 = 0.016638 + 0.032875 - 0.000719 = 0.048794;
  phi of a day of 20 = 1 + 20 x 74.9455 x ((a - b) / 200)^2 / 0.048794
                     = 1 + 20 x 74.9455 x 7.827692e-6 / 0.048794 = 1.240462
  C: llr = 8 (-0.154187) + 10 (0.405374) = 2.820243; / phi = 2.273543
  A: llr = 16 (-0.154187) + 2 (0.405374) = -1.656239; / phi = -1.335180
  B: llr = 12 (-0.154187) + 6 (0.405374) = 0.582002; / phi = 0.469182
Before the drop S goes 0.47 after a B day and back to 0 after an A day: S = 0 on 2026-03-01.
S: 03-02 2.273543, 03-03 4.547085, 03-04 6.820628, 03-05 9.094170 >= H = 8: on, since 03-05;
   03-06 7.758991, 03-07 6.423811, 03-08 5.088632 (>= H / 2 = 4: still on),
   03-09 3.753452 < 4: off.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.nps import Responses, drop_zscore
from services.common.nps_drop import (
    DESIGN_DROP,
    FALLBACK_Z,
    GUARD_DAYS,
    DayCounts,
    H,
    Window,
    alarm_days,
    dispersion,
    evenings,
    increment,
)

FIRST = date(2025, 8, 4)
A, B, C = (16, 2, 2), (12, 2, 6), (8, 2, 10)
DROP_DAY = date(2026, 3, 2)


def history(pattern: list[tuple[int, int, int]], first: date = FIRST) -> list[DayCounts]:
    return [DayCounts(first + timedelta(t), *counts) for t, counts in enumerate(pattern)]


def worked_example() -> list[tuple[int, int, int]]:
    return [B if t % 2 == 0 else A for t in range(210)] + [C] * 4 + [A] * 4


def test_the_constants_of_the_worked_example() -> None:
    assert (DESIGN_DROP, H, GUARD_DAYS) == (20.0, 8.0, 28)


def test_baseline_of_the_worked_example() -> None:
    days = [Responses(*counts) for counts in worked_example()]
    window = Window(days, 182, 28)
    for t in range(211):
        window.advance(t)
    base = window.baseline()
    assert (window.promoters, window.detractors, window.days_with_responses) == (2548, 728, 182)
    assert base.p0 == pytest.approx(2548.5 / 3641.5)
    assert base.p0 == pytest.approx(0.699849, abs=1e-6)
    assert base.d0 == pytest.approx(0.200055, abs=1e-6)
    assert base.mu == pytest.approx(49.9794, abs=1e-4)
    assert base.v == pytest.approx(6501.10, abs=1e-2)
    assert base.tau2 == pytest.approx(74.9455, abs=1e-4)
    assert dispersion(20, base) == pytest.approx(1.240462, abs=1e-6)
    assert increment(Responses(*C), base) == pytest.approx(2.273543, abs=1e-6)
    assert increment(Responses(*A), base) == pytest.approx(-1.335180, abs=1e-6)
    assert increment(Responses(*B), base) == pytest.approx(0.469182, abs=1e-6)
    assert increment(Responses(0, 0, 0), base) == 0.0


def test_cusum_and_hysteresis_of_the_worked_example() -> None:
    result = evenings(history(worked_example()))
    assert len(result) == 218
    before = result[209]
    assert (before.day, before.statistic, before.alarm, before.method) == (
        date(2026, 3, 1),
        0.0,
        False,
        "cusum",
    )
    drop = [(e.day, round(e.statistic, 6), e.alarm, e.since) for e in result[210:]]
    on = date(2026, 3, 5)
    assert drop == [
        (DROP_DAY, 2.273543, False, None),
        (date(2026, 3, 3), 4.547085, False, None),
        (date(2026, 3, 4), 6.820628, False, None),
        (on, 9.094170, True, on),
        (date(2026, 3, 6), 7.758991, True, on),
        (date(2026, 3, 7), 6.423811, True, on),
        (date(2026, 3, 8), 5.088632, True, on),
        (date(2026, 3, 9), 3.753452, False, None),
    ]
    assert alarm_days({"u": history(worked_example())}) == {
        "u": [on + timedelta(k) for k in range(4)]
    }


def test_the_cusum_starts_with_56_days_of_baseline() -> None:
    """Day 84 is the first whose baseline (days 0..55) has 56 days with responses. Before it
    the fallback rule, from day 7 (the first with a day in the 28 days before the 7)."""
    methods = [e.method for e in evenings(history(worked_example()))]
    assert set(methods[:7]) == {"none"}
    assert set(methods[7:84]) == {"fallback"}
    assert set(methods[84:]) == {"cusum"}


def fallback_example() -> list[DayCounts]:
    """Days 0..19 (7, 2, 1) each: 140, 40, 20 in all (NPS 60, variance 10^4 x 0.44 / 200 = 22);
    days 28..33 (5, 2, 3) each: 30, 12, 18 (NPS 20, variance 10^4 x 0.76 / 60 = 126.67);
    days 34 and on, and 20..27, without responses. Far too few responses for the CUSUM."""
    pattern = [(7, 2, 1)] * 20 + [(0, 0, 0)] * 8 + [(5, 2, 3)] * 6 + [(0, 0, 0)]
    return history(pattern)


def test_fallback_rule_on_a_short_history() -> None:
    """Evening of day 33 (and 34): the 7 days hold 60 responses; z = (20 - 60) / sqrt(126.67 +
    22) = -3.2806 <= -3.09: on. Day 32: 50 responses (25, 10, 15), variance 152,
    z = -40 / sqrt(174) = -3.0324: off. Day 31: 40 responses, z = -40 / sqrt(212) = -2.7472.
    Day 29: 20 responses, too few whatever z. Day 26: nothing in the 7 days: "none"."""
    result = evenings(fallback_example(), until=FIRST + timedelta(36))
    assert len(result) == 37
    z = {t: round(result[t].statistic, 4) for t in (31, 32, 33, 34)}
    assert z == {31: -2.7472, 32: -3.0324, 33: -3.2806, 34: -3.2806}
    assert FALLBACK_Z == -3.09
    assert [t for t, e in enumerate(result) if e.alarm] == [33, 34]
    assert result[34].since == FIRST + timedelta(33)
    assert {result[t].method for t in (29, 31, 33)} == {"fallback"}
    assert (result[26].method, result[26].statistic, result[0].method) == ("none", 0.0, "none")
    assert result[36].alarm is False  # day 36: the 7 days hold 18 responses


def test_fallback_needs_30_responses_in_the_28_days_before_too() -> None:
    """Days 0 and 1 (10, 0, 0): 20 promoters before, NPS 100 with variance 0; days 28..33
    (5, 2, 3): 60 responses, NPS 20, variance 126.67; z = (20 - 100) / sqrt(126.67) = -7.1082,
    far under -3.09, but the 28 days before hold 20 responses, under 30: off. A window that thin
    has no spread by chance, and then any dip looks significant."""
    result = evenings(history([(10, 0, 0)] * 2 + [(0, 0, 0)] * 26 + [(5, 2, 3)] * 6))
    assert (round(result[33].statistic, 4), result[33].method) == (-7.1082, "fallback")
    assert [e for e in result if e.alarm] == []


def test_the_fallback_allows_for_over_dispersion() -> None:
    """Days 0..27 alternate (18, 2, 0), x = 90, and (10, 2, 8), x = 10: 560 responses
    (392, 56, 112), NPS 50, variance 10^4 x 0.65 / 560 = 11.607. Days 28..34 (10, 2, 8): 140
    (70, 14, 56), NPS 10, variance 10^4 x 0.89 / 140 = 63.571. z = -40 / sqrt(75.178) = -4.6133
    if each response were independent. The days before the 7 (days 0..27) give
    p0 = 392.5 / 561.5, d0 = 112.5 / 561.5, mu = 49.8664, v = 6507.106 and
    tau2 = ((90 - mu)^2 + (10 - mu)^2) / 2 - v / 20 = 1274.663; each window's variance gains
    tau2 sum(n_d^2) / n^2: 1274.663 (7 x 400 / 140^2 + 28 x 400 / 560^2) = 227.618, so
    z = -40 / sqrt(75.178 + 227.618) = -2.2987 > -3.09: off."""
    result = evenings(history([(18, 2, 0), (10, 2, 8)] * 14 + [(10, 2, 8)] * 7))
    assert drop_zscore(Responses(70, 14, 56), Responses(392, 56, 112)) == pytest.approx(
        -4.6133, abs=1e-4
    )
    assert (round(result[34].statistic, 4), result[34].method) == (-2.2987, "fallback")
    assert [e for e in result if e.alarm] == []


def test_order_duplicates_and_until() -> None:
    days = history(worked_example())
    shuffled = days[:]
    random.Random(7).shuffle(shuffled)
    split = [DayCounts(d.day, 1, 0, 0) for d in days[::3]] + [
        DayCounts(d.day, d.promoters - (t % 3 == 0), d.passives, d.detractors)
        for t, d in enumerate(days)
    ]
    assert evenings(shuffled) == evenings(days) == evenings(split)
    assert evenings(days, until=FIRST - timedelta(1)) == []
    assert evenings([]) == []
    longer = evenings(days, until=date(2026, 3, 12))
    assert [e.statistic for e in longer[-4:]] == [longer[-4].statistic] * 4


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        DayCounts(FIRST, 1, -1, 0)


def direct(days: list[Responses], start: int, stop: int) -> tuple[int, int, int, float]:
    """Sums and tau2 of the days [start, stop), from the definition."""
    window = [c for c in days[max(start, 0) : max(stop, 0)] if c.count]
    n = sum(c.count for c in window)
    promoters, detractors = sum(c.promoters for c in window), sum(c.detractors for c in window)
    if not window:
        return n, promoters, detractors, math.nan
    p0, d0 = (promoters + 0.5) / (n + 1.5), (detractors + 0.5) / (n + 1.5)
    mu, v = 100 * (p0 - d0), 100**2 * (p0 + d0 - (p0 - d0) ** 2)
    moments = [
        (100 * (c.promoters - c.detractors) / c.count - mu) ** 2 - v / c.count for c in window
    ]
    return n, promoters, detractors, max(0.0, sum(moments) / len(window))


day_counts = st.builds(
    Responses, st.integers(0, 30), st.integers(0, 10), st.integers(0, 30)
) | st.just(Responses(0, 0, 0))


@settings(max_examples=40, deadline=None)
@given(
    days=st.lists(day_counts, max_size=260),
    shape=st.sampled_from([(182, 28), (7, -1), (28, 6), (5, 3)]),
)
def test_sliding_sums_equal_a_direct_recomputation(
    days: list[Responses], shape: tuple[int, int]
) -> None:
    length, lag = shape
    window = Window(days, length, lag)
    for t in range(len(days)):
        window.advance(t)
        n, promoters, detractors, tau2 = direct(days, t - lag - length, t - lag)
        sums = window.promoters + window.passives + window.detractors
        assert (sums, window.promoters, window.detractors) == (n, promoters, detractors)
        if n:
            assert window.baseline().tau2 == pytest.approx(tau2, rel=1e-9, abs=1e-6)
