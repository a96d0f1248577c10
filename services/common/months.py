"""Calendar-month arithmetic, defined once: the report's months, retention's month cut-offs and
the Grafana snapshot's time range all use it."""

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


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day when
    that month is shorter)."""
    earlier = Month.of(moment).shift(-months)
    return moment.replace(year=earlier.year, month=earlier.month, day=min(moment.day, earlier.days))
