"""The query parameters every statistics endpoint shares (docs/api.md): a range of local days,
filters, and the granularity of the rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal, NamedTuple

from fastapi import Depends, Query

from services.common.i18n import N_
from services.gateway.context import Context
from services.gateway.errors import ApiError

Granularity = Literal["day", "month", "total"]
MAX_DAYS = 3 * 366
DEFAULT_DAYS = 30
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2199, 12, 31)  # events before 2000 are refused
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"


@dataclass(frozen=True, slots=True)
class Selection:
    first: date
    last: date
    granularity: Granularity
    unit_id: str | None
    service_area: str | None
    queue_id: str | None
    pathway_id: str | None

    def grouping(self, day_column: str, key: str | None) -> tuple[str, str]:
        """(select list, group list) of rows per period, and per `key` column when given."""
        key_sql = key or "NULL::text"
        return (
            f"{self.period_sql(day_column)} AS period, {key_sql} AS key",
            "period, key" if key else "period",
        )

    def period_sql(self, column: str) -> str:
        """SQL of the `period` label of a row, from a date column."""
        if self.granularity == "day":
            return f"to_char({column}, 'YYYY-MM-DD')"
        if self.granularity == "month":
            return f"to_char({column}, 'YYYY-MM')"
        return "'total'"


class _Range(NamedTuple):
    first: date | None
    last: date | None
    granularity: Granularity


class _Filters(NamedTuple):
    unit_id: str | None
    service_area: str | None
    queue_id: str | None
    pathway_id: str | None


_IdFilter = Annotated[str | None, Query(pattern=ID_PATTERN)]


# The parameters, in two dependencies of `selection`: FastAPI checks a dependency's parameters
# before those of the function depending on it, so invalid ones are still reported in this order.
def _range(
    first: Annotated[date | None, Query(alias="from", description="first local day")] = None,
    last: Annotated[date | None, Query(alias="to", description="last local day")] = None,
    granularity: Granularity = "day",
) -> _Range:
    return _Range(first, last, granularity)


def _filters(
    unit_id: _IdFilter = None,
    service_area: _IdFilter = None,
    queue_id: _IdFilter = None,
    pathway_id: _IdFilter = None,
) -> _Filters:
    return _Filters(unit_id, service_area, queue_id, pathway_id)


def selection(
    ctx: Context,
    asked: Annotated[_Range, Depends(_range)],
    filters: Annotated[_Filters, Depends(_filters)],
) -> Selection:
    first, last = _days(asked.first, asked.last, ctx.today())
    return Selection(first, last, asked.granularity, *filters)


def checked_day(day: date) -> date:
    """A day the API accepts, else 422 `invalid_range`."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ApiError(
            422,
            "invalid_range",
            N_("days are from {first} to {last}, not {day}"),
            first=EARLIEST_DAY,
            last=LATEST_DAY,
            day=day,
        )
    return day


def _days(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """The range asked, the last 30 days by default, checked."""
    for day in (first, last):
        if day is not None:
            checked_day(day)
    last = last or (today if first is None else min(today, first + timedelta(DEFAULT_DAYS - 1)))
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ApiError(
            422, "invalid_range", N_("from ({first}) is after to ({last})"), first=first, last=last
        )
    if (last - first).days >= MAX_DAYS:
        raise ApiError(422, "invalid_range", N_("a range is at most {days} days"), days=MAX_DAYS)
    return first, last


Selected = Annotated[Selection, Depends(selection)]
