"""NPS windows, the drop test and the exported gauges, worked out by hand (docs/metrics.md)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from services.common.months import months_before
from services.common.registry import Registry, ServiceArea, Unit
from services.feedback_ingest.exports import Thresholds, WindowCollector
from services.feedback_ingest.windows import DAYS_NEEDED, DayRow, unit_windows

TODAY = date(2025, 11, 30)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


# (unit, day, sent, failed, promoters, passives, detractors)
ROWS: list[DayRow] = [
    ("u1", ago(0), 10, 1, 5, 2, 1),
    ("u1", ago(6), 4, 0, 1, 0, 1),
    ("u1", ago(7), 20, 2, 10, 5, 3),
    ("u1", ago(29), 6, 0, 2, 1, 0),
    ("u1", ago(34), 3, 0, 1, 0, 0),
    ("u1", ago(35), 50, 0, 0, 0, 50),  # older than any window
    ("u2", ago(1), 5, 0, 2, 1, 0),
]


def test_windows_sum_the_days_they_cover() -> None:
    assert ago(DAYS_NEEDED - 1) == ago(34)  # the earliest day any window reads
    u1 = unit_windows(ROWS, TODAY)["u1"]
    seven, twenty_eight, thirty = (u1.windows[w] for w in ("7d", "28d", "30d"))
    # 7d = ages 0..6: sent 14, failed 1, 6 promoters, 2 passives, 2 detractors
    assert (seven.sent, seven.delivery_failed, seven.responses.count) == (14, 1, 10)
    assert seven.responses.nps == 40
    assert seven.response_ratio == 10 / 13
    # 28d = ages 0..27: + age 7 -> 16 / 7 / 5
    assert (twenty_eight.sent, twenty_eight.responses.count) == (34, 28)
    assert twenty_eight.responses.nps == pytest.approx(100 * 11 / 28)
    # 30d = + age 29 -> 18 / 8 / 5
    assert (thirty.sent, thirty.delivery_failed, thirty.responses.count) == (40, 3, 31)
    assert thirty.responses.nps == pytest.approx(100 * 13 / 31)


def test_the_drop_test_compares_the_last_7_days_with_the_28_before() -> None:
    u1 = unit_windows(ROWS, TODAY)["u1"]
    # recent: 6/2/2 of 10 -> nps 40, var = 100^2 (0.8 - 0.4^2) / 10 = 640
    # baseline, ages 7..34: 13 promoters, 6 passives, 3 detractors of 22 -> nps 1000/22;
    # var = 100^2 (16/22 - (10/22)^2) / 22 = 100^2 x 252/484 / 22 = 236.664...
    assert u1.recent.responses.count == 10
    assert u1.baseline.responses.count == 22
    var28 = 100**2 * (16 / 22 - (10 / 22) ** 2) / 22
    assert var28 == pytest.approx(236.6641, abs=1e-4)
    expected = (40 - 1000 / 22) / math.sqrt(640 + var28)
    assert expected == pytest.approx(-0.18423, abs=1e-5)
    assert u1.drop_zscore == pytest.approx(expected)


def collected(thresholds: Thresholds) -> dict[tuple[str, tuple[str, ...]], float]:
    registry = Registry(
        service_areas=[ServiceArea(id="sa", name="A")],
        units=[
            Unit(id="u1", name="One", service_area="sa", nps_target=70),
            Unit(id="u3", name="Three", service_area="sa"),
        ],
    )
    windows = unit_windows(ROWS, TODAY)
    prometheus = CollectorRegistry()
    prometheus.register(WindowCollector(lambda: windows, registry, thresholds))
    return {
        (sample.name, tuple(sample.labels.values())): sample.value
        for family in prometheus.collect()
        for sample in family.samples
    }


def test_gauges_leave_out_small_groups_and_weak_drop_tests() -> None:
    values = collected(Thresholds(min_responses=5, min_alert_responses=30))
    assert values[("kanava_nps", ("u1", "7d"))] == 40
    half = 1.96 * math.sqrt(640)
    assert values[("kanava_nps_ci95_lower", ("u1", "7d"))] == pytest.approx(40 - half)
    assert values[("kanava_nps_ci95_upper", ("u1", "7d"))] == pytest.approx(40 + half)
    assert values[("kanava_nps_responses", ("u2", "7d"))] == 3
    assert ("kanava_nps", ("u2", "7d")) not in values  # 3 responses < 5: suppressed
    assert values[("kanava_feedback_response_ratio", ("u2", "28d"))] == 3 / 5
    assert ("kanava_nps_drop_zscore", ("u1",)) not in values  # 10 recent responses < 30
    assert values[("kanava_nps_target", ("u1",))] == 70
    assert values[("kanava_nps_target", ("u3",))] == 75

    values = collected(Thresholds(min_responses=5, min_alert_responses=10))
    assert values[("kanava_nps_drop_zscore", ("u1",))] == pytest.approx(-0.18423, abs=1e-5)


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2027, 11, 4, 12, tzinfo=UTC), 24, datetime(2025, 11, 4, 12, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2024, 3, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 13, datetime(2024, 12, 15, tzinfo=UTC)),
    ],
)
def test_months_before(moment: datetime, months: int, expected: datetime) -> None:
    assert months_before(moment, months) == expected
