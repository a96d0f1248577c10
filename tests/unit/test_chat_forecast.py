"""The arrival forecast of a chat queue and its hourly advice (services/common/chat_forecast.py),
worked out by hand."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.common.chat_forecast import (
    QueueHistory,
    expected_offered,
    forecast_days,
    forecast_hour,
    is_holiday,
)
from services.common.erlang import Load, advise
from services.common.registry import Queue

pytestmark = pytest.mark.unit

TZ = ZoneInfo("Europe/Helsinki")
MONDAY = date(2025, 11, 10)  # no Finnish holiday on the six Mondays before
W2 = 0.5**0.5  # the weight of two weeks back: halving every two weeks


def history(
    offered: dict[tuple[date, int], int],
    first_day: date | None = date(2025, 9, 1),
    until: date = MONDAY,
    handle: float | None = 600.0,
) -> QueueHistory:
    return QueueHistory(offered, first_day, until, handle, None, 1, 0)


def test_the_newest_weeks_weigh_most() -> None:
    # the Mondays before 2025-11-10 at 10:00: 6, 4, 2, 0, 0 and 8 entries
    past = {
        (date(2025, 11, 3), 10): 6,
        (date(2025, 10, 27), 10): 4,
        (date(2025, 10, 20), 10): 2,
        (date(2025, 9, 29), 10): 8,
        (date(2025, 11, 3), 11): 100,  # another hour
        (date(2025, 11, 4), 10): 100,  # another weekday
    }
    weights = [1, W2, 0.5, W2 / 2, 0.25, W2 / 4]
    expected = (6 * 1 + 4 * W2 + 2 * 0.5 + 8 * W2 / 4) / sum(weights)
    assert expected_offered(history(past), MONDAY, 10) == pytest.approx(expected, abs=1e-12)


def test_weeks_before_the_first_day_are_not_zeros() -> None:
    past = {(date(2025, 11, 3), 10): 6, (date(2025, 10, 27), 10): 4, (date(2025, 10, 20), 10): 2}
    first = date(2025, 10, 20)
    assert expected_offered(history(past, first), MONDAY, 10) == pytest.approx(
        (6 + 4 * W2 + 2 * 0.5) / (1 + W2 + 0.5), abs=1e-12
    )
    assert expected_offered(history(past, None), MONDAY, 10) is None
    assert expected_offered(history(past, MONDAY), MONDAY, 10) is None


def test_days_not_read_yet_are_left_out() -> None:
    # a forecast for 10 days after the history was read: a week back is not complete yet
    past = {(date(2025, 11, 3), 10): 6, (date(2025, 10, 27), 10): 4}
    thursday = date(2025, 11, 20)  # weeks back: 11-13 (not read yet), 11-06, 10-30, ...
    past_thursdays = {(date(2025, 10, 30), 9): 3}
    assert expected_offered(history(past | past_thursdays), thursday, 9) == pytest.approx(
        3 * 0.5 / (W2 + 0.5 + W2 / 2 + 0.25 + W2 / 4), abs=1e-12
    )


def test_finnish_holidays_are_left_out_of_the_history() -> None:
    assert is_holiday(date(2026, 12, 24))
    assert is_holiday(date(2026, 6, 19))
    assert not is_holiday(date(2026, 12, 17))
    # Thursday 2026-12-31: a week back is Christmas Eve (closed, 0 entries), left out
    past = {(date(2026, 12, 17), 9): 10, (date(2026, 12, 10), 9): 10}
    h = history(past, date(2026, 12, 10), until=date(2026, 12, 31))
    assert expected_offered(h, date(2026, 12, 31), 9) == pytest.approx(10.0, abs=1e-12)


def test_an_hour_is_advised_by_the_queue_own_threshold_and_the_report_target() -> None:
    queue = Queue(id="q", name="Q", unit="u", service_level_seconds=120)
    past = {(date(2025, 11, 3), 10): 30}
    hour = forecast_hour(queue, history(past, date(2025, 11, 3)), MONDAY, 10, TZ)
    advice = advise(Load(30.0, 600.0), 120, 0.8)
    assert (hour.expected_offered, hour.professionals, hour.service_level, hour.model) == (
        30.0,
        advice.professionals,
        advice.service_level,
        "erlang_c",
    )
    assert hour.start == datetime(2025, 11, 10, 10, tzinfo=TZ)
    assert (hour.open, hour.holiday) == (True, False)


def test_a_queue_with_a_target_of_its_own_is_advised_by_it() -> None:
    # 6 chats an hour of 600 s: A = 1 erlang, T = 120 s (as the wallboard's test works out):
    # n = 2 gives SL = 1 - e^(-0.2) / 3 = 0.727, n = 3 gives 0.939. So 3 meet 80 %, 2 meet 70 %.
    past = {(date(2025, 11, 3), 10): 6}
    default = Queue(id="q", name="Q", unit="u", service_level_seconds=120)
    own = default.model_copy(update={"service_level_target": 0.7})
    advised = [
        forecast_hour(q, history(past, date(2025, 11, 3)), MONDAY, 10, TZ).professionals
        for q in (default, own)
    ]
    assert advised == [3, 2]


def test_closed_hours_need_nobody_and_no_handle_time_no_advice() -> None:
    queue = Queue.model_validate(
        {"id": "q", "name": "Q", "unit": "u", "opening_hours": {"mon-fri": "08:30-16:00"}}
    )
    past = {(date(2025, 11, 3), h): 5 for h in range(24)}
    hours = forecast_days(queue, history(past, date(2025, 11, 3)), [MONDAY], TZ)
    assert [h.hour for h in (x.start for x in hours if x.open)] == list(range(8, 16))
    seven, eight = hours[7], hours[8]  # 08:00-09:00 is open from 08:30
    assert (seven.open, seven.expected_offered, seven.professionals) == (False, 0.0, 0)
    assert (eight.open, eight.expected_offered) == (True, 5.0)
    no_handle = forecast_hour(queue, history(past, date(2025, 11, 3), handle=None), MONDAY, 9, TZ)
    assert (no_handle.expected_offered, no_handle.professionals, no_handle.model) == (
        5.0,
        None,
        None,
    )
