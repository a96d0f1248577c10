"""Calendar-month arithmetic, defined once: the report's months, retention's month cut-offs,
the Grafana snapshot's time range and the whole months of imported contact counts all use it."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MONTH_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        if not re.fullmatch(MONTH_PATTERN, text):
            raise ValueError(f"{text!r} is not a month YYYY-MM")
        return cls(int(text[:4]), int(text[5:]))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def shift(self, months: int) -> Month:
        year, month = divmod(self.year * 12 + self.month - 1 + months, 12)
        return Month(year, month + 1)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return self.shift(1).first - timedelta(days=1)

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]


def whole_months(first: date, last: date) -> tuple[date, date]:
    """The first days of the first and the last month that the days `first`..`last` cover
    whole (the first after the last when they cover none)."""
    start = Month.of(first) if first.day == 1 else Month.of(first).shift(1)
    end = Month.of(last) if last == Month.of(last).last else Month.of(last).shift(-1)
    return start.first, end.first


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day when
    that month is shorter)."""
    earlier = Month.of(moment).shift(-months)
    return moment.replace(year=earlier.year, month=earlier.month, day=min(moment.day, earlier.days))
