"""The NPS drop detector against numbers worked out by hand (docs/nps-drop.md, worked example).

The worked example: from 2025-08-04 (day 0) a unit has 20 responses every day, alternately
B = (12 promoters, 2 passives, 6 detractors; x = 100 (12 - 6) / 20 = 30) on even days and
A = (16, 2, 2; x = 70) on odd days, up to day 209 (2026-03-01). Then five bad days
C = (8, 2, 10) (2026-03-02..06) and six A days again (2026-03-07..12).

Baseline of each evening 2026-03-02..12: the 182 days that ended 28 days before, 91 A and 91 B:
  n = 3640, P = 91 x 28 = 2548, D = 91 x 8 = 728
  p0 = 2548.5 / 3641.5 = 0.699849   d0 = 728.5 / 3641.5 = 0.200055   m0 = 0.100096
  mu = 100 (p0 - d0) = 49.9794
  v = 10^4 (p0 + d0 - (p0 - d0)^2) = 10^4 (0.899904 - 0.249794) = 6501.10
  day shares p_d: A 0.8, B 0.6; d_d: A 0.1, B 0.3; 1 / n_d = 0.05
  S_pp = (0.100151^2 + 0.099849^2) / 2 - p0 (1 - p0) 0.05 = 0.010000 - 0.010503 = -0.000503
  S_pd = (0.100151 (-0.100055) + (-0.099849) 0.099945) / 2 + p0 d0 0.05
       = -0.010000 + 0.007000 = -0.003000
  S_dd = (0.100055^2 + 0.099945^2) / 2 - d0 (1 - d0) 0.05 = 0.010000 - 0.008002 = 0.001998
  tau2 = 10^4 (S_pp - 2 S_pd + S_dd) = 74.9455
The three alternatives (w: what a promoter, passive, detractor adds):
  promoters -> detractors, q1 = (0.599849, 0.100096, 0.300055):
    w = (ln(0.599849 / 0.699849), 0, ln(0.300055 / 0.200055)) = (-0.154187, 0, 0.405374)
    mean p0 w_p + d0 w_d = -0.026810; variance 0.016638 + 0.032875 - 0.000719 = 0.048794
    alpha = -0.154187, beta = 0.405374: b = alpha^2 S_pp + 2 alpha beta S_pd + beta^2 S_dd
      = -0.000012 + 0.000375 + 0.000328 = 0.00069140
    phi of a day of 20 = 1 + 20 x 0.00069140 / 0.048794 = 1.283396
    C: llr = 8 (-0.154187) + 10 (0.405374) = 2.820243; / phi = 2.197485
    A: llr = 16 (-0.154187) + 2 (0.405374) = -1.656239; / phi = -1.290513
    B: llr = 12 (-0.154187) + 6 (0.405374) = 0.582002; / phi = 0.453486
  promoters -> passives, q1 = (0.499849, 0.300096, 0.200055):
    w = (-0.336559, 1.097972, 0); b = 2.057879 S_pp + 3.150157 S_pd + 1.205543 S_dd < 0: phi 1
    C: 8 (-0.336559) + 2 (1.097972) = -0.496525 < 0, A and B lower: S stays 0
  passives -> detractors, all but 0.001 of the passives: q1 = (0.699849, 0.001, 0.299151):
    w = (0, ln(0.001 / 0.100096), ln(0.299151 / 0.200055)) = (0, -4.606131, 0.402357);
    b < 0: phi 1; C: -4.606131 x 2 + 0.402357 x 10 = -5.188695 < 0: S stays 0
Before the drop S (promoters -> detractors) goes 0.45 after a B day and back to 0 after an A
day: S = 0 on 2026-03-01.
S: 03-02 2.197485, 03-03 4.394969, 03-04 6.592454, 03-05 8.789939,
   03-06 10.987423 >= H = 9: on, since 03-06;
   03-07 9.696910, 03-08 8.406397, 03-09 7.115884, 03-10 5.825371,
   03-11 4.534858 (>= H / 2 = 4.5: still on), 03-12 3.244345 < 4.5: off.
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
    MIN_SHARE,
    MOVES,
    Baseline,
    DayCounts,
    H,
    Move,
    Window,
    alarm_days,
    dispersion,
    evenings,
    increments,
    weights,
)

FIRST = date(2025, 8, 4)
A, B, C = (16, 2, 2), (12, 2, 6), (8, 2, 10)
DROP_DAY = date(2026, 3, 2)


def history(pattern: list[tuple[int, int, int]], first: date = FIRST) -> list[DayCounts]:
    return [DayCounts(first + timedelta(t), *counts) for t, counts in enumerate(pattern)]


def worked_example() -> list[tuple[int, int, int]]:
    return [B if t % 2 == 0 else A for t in range(210)] + [C] * 5 + [A] * 6


def test_the_constants_of_the_worked_example() -> None:
    assert (DESIGN_DROP, H, GUARD_DAYS, MIN_SHARE) == (20.0, 9.0, 28, 0.001)


def test_baseline_of_the_worked_example() -> None:
    days = [Responses(*counts) for counts in worked_example()]
    window = Window(days, 182, 28)
    for t in range(211):
        window.advance(t)
    base = window.baseline()
    assert (window.promoters, window.detractors, window.days_with_responses) == (2548, 728, 182)
    assert base.p0 == pytest.approx(2548.5 / 3641.5)
    assert base.shares == pytest.approx((0.699849, 0.100096, 0.200055), abs=1e-6)
    assert base.mu == pytest.approx(49.9794, abs=1e-4)
    assert base.v == pytest.approx(6501.10, abs=1e-2)
    assert base.spread == pytest.approx((-0.000503, -0.003000, 0.001998), abs=1e-6)
    assert base.tau2 == pytest.approx(74.9455, abs=1e-4)
    to_detractors, to_passives, passives_to_detractors = MOVES
    w = weights(base, to_detractors)
    assert w == pytest.approx((-0.154187, 0.0, 0.405374), abs=1e-6)
    assert dispersion(20, base, w) == pytest.approx(1.283396, abs=1e-6)
    assert weights(base, to_passives) == pytest.approx((-0.336559, 1.097972, 0.0), abs=1e-6)
    assert dispersion(20, base, weights(base, to_passives)) == 1.0
    w = weights(base, passives_to_detractors)
    assert w == pytest.approx((0.0, -4.606131, 0.402357), abs=1e-6)
    assert increments(Responses(*C), base) == pytest.approx(
        [2.197485, -0.496525, -5.188695], abs=1e-6
    )
    assert increments(Responses(*A), base)[0] == pytest.approx(-1.290513, abs=1e-6)
    assert increments(Responses(*B), base)[0] == pytest.approx(0.453486, abs=1e-6)
    assert increments(Responses(0, 0, 0), base) == [0.0, 0.0, 0.0]


def test_cusum_and_hysteresis_of_the_worked_example() -> None:
    result = evenings(history(worked_example()))
    assert len(result) == 221
    before = result[209]
    assert (before.day, before.statistic, before.alarm, before.method) == (
        date(2026, 3, 1),
        0.0,
        False,
        "cusum",
    )
    drop = [(e.day, round(e.statistic, 6), e.alarm, e.since) for e in result[210:]]
    on = date(2026, 3, 6)
    expected = [2.197485, 4.394969, 6.592454, 8.789939, 10.987423, 9.696910, 8.406397]
    expected += [7.115884, 5.825371, 4.534858, 3.244345]
    assert drop == [
        (DROP_DAY + timedelta(k), s, 4 <= k <= 9, on if 4 <= k <= 9 else None)
        for k, s in enumerate(expected)
    ]
    assert alarm_days({"u": history(worked_example())}) == {
        "u": [on + timedelta(k) for k in range(6)]
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
    longer = evenings(days, until=date(2026, 3, 15))
    assert [e.statistic for e in longer[-4:]] == [longer[-4].statistic] * 4


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        DayCounts(FIRST, 1, -1, 0)


def direct(
    days: list[Responses], start: int, stop: int
) -> tuple[int, int, int, float, tuple[float, ...]]:
    """Sums, tau2 and the spread of the days [start, stop), from the definitions."""
    window = [c for c in days[max(start, 0) : max(stop, 0)] if c.count]
    n = sum(c.count for c in window)
    promoters, detractors = sum(c.promoters for c in window), sum(c.detractors for c in window)
    if not window:
        return n, promoters, detractors, math.nan, ()
    p0, d0 = (promoters + 0.5) / (n + 1.5), (detractors + 0.5) / (n + 1.5)
    mu, v = 100 * (p0 - d0), 100**2 * (p0 + d0 - (p0 - d0) ** 2)
    moments = [
        (100 * (c.promoters - c.detractors) / c.count - mu) ** 2 - v / c.count for c in window
    ]
    shares = [(c.promoters / c.count, c.detractors / c.count, c.count) for c in window]
    spread = (
        sum((p - p0) ** 2 - p0 * (1 - p0) / k for p, _, k in shares) / len(window),
        sum((p - p0) * (d - d0) + p0 * d0 / k for p, d, k in shares) / len(window),
        sum((d - d0) ** 2 - d0 * (1 - d0) / k for _, d, k in shares) / len(window),
    )
    return n, promoters, detractors, max(0.0, sum(moments) / len(window)), spread


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
        n, promoters, detractors, tau2, spread = direct(days, t - lag - length, t - lag)
        sums = window.promoters + window.passives + window.detractors
        assert (sums, window.promoters, window.detractors) == (n, promoters, detractors)
        if n:
            assert window.baseline().tau2 == pytest.approx(tau2, rel=1e-9, abs=1e-6)
            assert window.baseline().spread == pytest.approx(spread, rel=1e-9, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(st.floats(0.25, 0.75), st.floats(0.25, 1.0), st.sampled_from(MOVES))
def test_each_alternative_is_a_distribution_with_the_drop(
    p0: float, detractor_part: float, move: Move
) -> None:
    """e^w are the ratios q1 / q0 of shares q1 that sum to 1 and whose NPS is mu - 20 (shares
    of at least 21 % everywhere, so no alternative runs out of answers to move)."""
    d0 = (1 - p0) * detractor_part * 0.999
    m0 = 1 - p0 - d0
    if min(m0, d0) < 0.21:
        return
    base = Baseline(p0, d0)
    q1 = [q * math.exp(w) for q, w in zip(base.shares, weights(base, move), strict=True)]
    assert sum(q1) == pytest.approx(1.0, abs=1e-9)
    assert 100 * (q1[0] - q1[2]) == pytest.approx(base.mu - DESIGN_DROP, abs=1e-9)
    assert dispersion(40, base, weights(base, move)) == 1.0  # no spread: independent
