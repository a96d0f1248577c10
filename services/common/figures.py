"""Per-day figures kept exact under late and repeated events: a changed derivation takes its
old contribution back and adds the new one."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

K = TypeVar("K")


def difference(new: Counter[K], old: Counter[K]) -> dict[K, int]:
    """new - old per key, keeping negative values and dropping zeros."""
    keys = new.keys() | old.keys()
    return {k: new[k] - old[k] for k in keys if new[k] != old[k]}


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()
