"""The chats a queue can expect in each hour, and the professionals it needs then
(docs/staffing.md#the-forecast): from the stored visits, for the gateway and chat_metrics.

Expected entries in an hour are the weighted mean of the same local weekday and hour over the
`WEEKS` weeks before, the newest week weighing most (halving every `HALF_LIFE_WEEKS`). Days
before the queue's first stored day, from the day the history was read on (not complete yet)
and Finnish public holidays are left out; a holiday ahead is forecast as its weekday and
flagged. Handle time and patience come from the `RECENT_DAYS` days before the history was
read, concurrency from the professionals' statuses.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.erlang import Load, Model, advise
from services.common.registry import Queue

WEEKS = 6
HALF_LIFE_WEEKS = 2.0
RECENT_DAYS = 28
MIN_ABANDONS = 30
"""Clients who left the queue, in `RECENT_DAYS`, below which patience is not estimated and the
advice is Erlang C's."""
ON_DUTY = ("available", "busy")


@dataclass(frozen=True)
class QueueHistory:
    """What the forecast knows of one queue."""

    offered: Mapping[tuple[date, int], int]  # entries per local day and hour
    first_day: date | None  # the first local day with an entry
    until: date  # the day the history was read: days from it on are not complete
    handle_seconds: float | None  # mean of the conversations closed recently
    patience_seconds: float | None  # None: too few clients left to say
    concurrency: int  # chats at once per professional (the capacity most professionals have)
    on_duty: int  # professionals available or busy on the queue now


@dataclass(frozen=True)
class HourForecast:
    start: datetime  # local
    open: bool
    holiday: bool
    expected_offered: float | None  # None: no history
    professionals: int | None  # advised; None: no history or no handle time
    service_level: float | None  # with the advised professionals
    model: Model | None


def is_holiday(day: date) -> bool:
    return day in _finnish_holidays(day.year)


@cache
def _finnish_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("FI", years=year)


def expected_offered(history: QueueHistory, day: date, hour: int) -> float | None:
    """The weighted mean of the entries of the same weekday and hour in the last weeks."""
    if history.first_day is None:
        return None
    total = weights = 0.0
    for week in range(1, WEEKS + 1):
        past = day - timedelta(weeks=week)
        if past < history.first_day or past >= history.until or is_holiday(past):
            continue
        weight = 0.5 ** ((week - 1) / HALF_LIFE_WEEKS)
        total += weight * history.offered.get((past, hour), 0)
        weights += weight
    return total / weights if weights else None


def forecast_hour(
    queue: Queue, history: QueueHistory, day: date, hour: int, tz: ZoneInfo
) -> HourForecast:
    start = datetime.combine(day, time(hour), tz)
    is_open = queue.is_open(start) or queue.is_open(start + timedelta(minutes=59))
    holiday = is_holiday(day)
    if not is_open:
        return HourForecast(start, False, holiday, 0.0, 0, None, None)
    expected = expected_offered(history, day, hour)
    professionals = level = model = None
    if expected is not None and history.handle_seconds is not None:
        load = Load(expected, history.handle_seconds, history.concurrency, history.patience_seconds)
        advice = advise(load, queue.service_level_seconds, queue.service_level_target)
        professionals, level, model = advice.professionals, advice.service_level, advice.model
    return HourForecast(start, True, holiday, expected, professionals, level, model)


def forecast_days(
    queue: Queue, history: QueueHistory, days: Sequence[date], tz: ZoneInfo
) -> list[HourForecast]:
    return [forecast_hour(queue, history, day, hour, tz) for day in days for hour in range(24)]


async def load_histories(
    conn: AsyncConnection, queues: Sequence[str], first: date, until: date, tz: ZoneInfo
) -> dict[str, QueueHistory]:
    """What the forecast of days from `first` on needs of each queue named: the stored visits
    of the days before `until` (today, or `first` if earlier)."""
    until = min(first, until)
    params = {
        "queues": list(queues),
        "since": datetime.combine(first - timedelta(weeks=WEEKS), time(), tz),
        "until": datetime.combine(until, time(), tz),
        "recent_day": until - timedelta(days=RECENT_DAYS),
        "until_day": until,
        "tz": tz.key,
    }
    offered: dict[str, dict[tuple[date, int], int]] = {q: {} for q in queues}
    for row in await conn.execute(_HOURLY, params):
        offered[row.queue_id][(row.day, row.hour)] = row.entries
    first_days = {r.queue_id: r.first_day for r in await conn.execute(_FIRST_DAYS, params)}
    recently = {r.queue_id: r for r in await conn.execute(_RECENT, params)}
    agents = await _agents(conn)
    histories = {}
    for queue in queues:
        served = recently.get(queue)
        capacities, on_duty = agents.get(queue, (Counter(), 0))
        histories[queue] = QueueHistory(
            offered[queue],
            first_days.get(queue),
            until,
            served.handle_ms / served.closed / 1000 if served and served.closed else None,
            served.waited_ms / served.left / 1000
            if served and served.left >= MIN_ABANDONS
            else None,
            _usual(capacities),
            on_duty,
        )
    return histories


_HOURLY = text(
    """
    SELECT queue_id, (entered_at AT TIME ZONE :tz)::date AS day,
           extract(hour FROM entered_at AT TIME ZONE :tz)::int AS hour, count(*) AS entries
    FROM chat_visits
    WHERE entered_at >= :since AND entered_at < :until AND queue_id = ANY(CAST(:queues AS text[]))
    GROUP BY 1, 2, 3
    """
)
_FIRST_DAYS = text(
    """
    SELECT queue_id, min(day) AS first_day FROM chat_queue_daily
    WHERE offered > 0 AND queue_id = ANY(CAST(:queues AS text[]))
    GROUP BY queue_id
    """
)
# Patience by maximum likelihood for exponential patience: clients who left, over all the time
# clients spent waiting (those answered, transferred or timed out had waited that long too).
_RECENT = text(
    """
    SELECT queue_id,
           coalesce(sum(handle_ms), 0)::bigint AS handle_ms, count(handle_ms) AS closed,
           coalesce(sum(wait_ms), 0)::bigint AS waited_ms,
           count(*) FILTER (WHERE outcome = 'abandoned' AND abandon_reason = 'client_left') AS left
    FROM chat_visits
    WHERE ended_day >= :recent_day AND ended_day < :until_day
      AND queue_id = ANY(CAST(:queues AS text[]))
    GROUP BY queue_id
    """
)


def _usual(capacities: Counter[int]) -> int:
    """The capacity most professionals have; of two as common, the smaller (more advised)."""
    return max(capacities.items(), key=lambda c: (c[1], -c[0]))[0] if capacities else 1


async def _agents(conn: AsyncConnection) -> dict[str, tuple[Counter[int], int]]:
    """Per queue: the capacities of the professionals who serve it, and how many are on duty."""
    capacities: dict[str, Counter[int]] = {}
    on_duty: Counter[str] = Counter()
    for row in await conn.execute(text("SELECT status, queue_ids, capacity FROM chat_agents")):
        for queue in json.loads(row.queue_ids):
            capacities.setdefault(queue, Counter())[row.capacity] += 1
            on_duty[queue] += row.status in ON_DUTY
    return {queue: (counts, on_duty[queue]) for queue, counts in capacities.items()}
