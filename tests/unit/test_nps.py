"""NPS, ci95 and the drop z-score against docs/metrics.md, worked out by hand."""

from __future__ import annotations

import math

import pytest

from services.common.nps import Responses, category, drop_zscore, is_drop


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_categories(score: int, expected: str) -> None:
    assert category(score) == expected


def test_nps_and_ci95_of_ten_responses() -> None:
    """6 promoters, 2 passives, 2 detractors: p = 0.6, d = 0.2, nps = 100 x 0.4 = 40.
    p + d - (p - d)^2 = 0.8 - 0.16 = 0.64; / 10 = 0.064; sqrt = 0.252982...;
    x 1.96 x 100 = 49.5845... -> ci95 = [-9.5845, 89.5845]."""
    responses = Responses(promoters=6, passives=2, detractors=2)
    assert responses.count == 10
    assert responses.nps == 40
    assert responses.variance == pytest.approx(640)
    lower, upper = responses.ci95() or (0, 0)
    assert lower == pytest.approx(40 - 196 * math.sqrt(0.064))
    assert lower == pytest.approx(-9.5845, abs=1e-4)
    assert upper == pytest.approx(89.5845, abs=1e-4)


def test_all_promoters_has_no_spread() -> None:
    responses = Responses(promoters=5, passives=0, detractors=0)
    assert (responses.nps, responses.variance, responses.ci95()) == (100, 0, (100, 100))


def test_no_responses_has_no_figures() -> None:
    empty = Responses(0, 0, 0)
    assert (empty.nps, empty.variance, empty.ci95()) == (None, None, None)
    assert drop_zscore(empty, Responses(10, 0, 0)) is None


def test_drop_zscore_worked_by_hand() -> None:
    """Last 7 days: n = 40, p = 0.5, d = 0.3 -> nps 20, var = 10000 (0.8 - 0.04) / 40 = 190.
    The 28 days before: n = 160, p = 0.7, d = 0.1 -> nps 60, var = 10000 (0.8 - 0.36) / 160
    = 27.5. z = (20 - 60) / sqrt(217.5) = -40 / 14.7479 = -2.7122."""
    last7 = Responses(promoters=20, passives=8, detractors=12)
    before = Responses(promoters=112, passives=32, detractors=16)
    z = drop_zscore(last7, before)
    assert z == pytest.approx(-40 / math.sqrt(217.5))
    assert z == pytest.approx(-2.7122, abs=1e-4)
    assert is_drop(z, last7)
    assert not is_drop(z, last7, min_alert_responses=41)
    assert not is_drop(-2.32, last7)
    assert is_drop(-2.33, last7)


def test_no_spread_in_either_window_gives_no_zscore() -> None:
    assert drop_zscore(Responses(30, 0, 0), Responses(100, 0, 0)) is None
