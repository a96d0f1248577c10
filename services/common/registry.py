"""The registry file (YAML): service areas, units, queues with opening hours, pathways, NPS targets.

Events that name ids missing from the registry are still counted under their raw id; the
registry only adds names, limits and opening hours.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from services.common.i18n import Language

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parse_duration(value: object) -> object:
    """Accept seconds as a number, or a short form like `90s`, `30m`, `4h`, `2d`."""
    if isinstance(value, str) and (match := _DURATION.match(value)):
        return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    return value


Duration = Annotated[timedelta, BeforeValidator(_parse_duration)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpeningHours(_Entry):
    """Opening intervals per weekday; a day missing from the map is closed."""

    days: dict[str, tuple[time, time]]

    @classmethod
    def parse(cls, spec: dict[str, str]) -> OpeningHours:
        days: dict[str, tuple[time, time]] = {}
        for day_spec, hours in spec.items():
            for day in _expand_days(day_spec):
                if hours.strip().lower() != "closed":
                    days[day] = _parse_interval(hours)
        return cls(days=days)

    def is_open(self, local: datetime) -> bool:
        interval = self.days.get(WEEKDAYS[local.weekday()])
        return interval is not None and interval[0] <= local.time() < interval[1]

    def closing_time(self, local: datetime) -> datetime | None:
        """When the opening interval that contains `local` ends, or None if closed then."""
        if not self.is_open(local):
            return None
        close = self.days[WEEKDAYS[local.weekday()]][1]
        if close == time.max:  # open until midnight
            return local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        return local.replace(hour=close.hour, minute=close.minute, second=0, microsecond=0)


def _expand_days(spec: str) -> list[str]:
    spec = spec.strip().lower()
    if spec == "daily":
        return list(WEEKDAYS)
    if "-" in spec:
        first, last = (part.strip() for part in spec.split("-", 1))
        return list(WEEKDAYS[WEEKDAYS.index(first) : WEEKDAYS.index(last) + 1])
    if spec not in WEEKDAYS:
        raise ValueError(f"unknown weekday {spec!r}: use mon…sun, a range like mon-fri, or daily")
    return [spec]


def _parse_interval(hours: str) -> tuple[time, time]:
    start, end = (_clock(part) for part in hours.split("-", 1))
    if end <= start:
        raise ValueError(f"opening interval {hours!r} ends before it starts")
    return start, end


def _clock(text: str) -> time:
    text = text.strip()
    return time.max if text == "24:00" else time.fromisoformat(text)


def _opening_hours(value: object) -> object:
    if value is None or isinstance(value, OpeningHours):
        return value
    if isinstance(value, str) and value.strip().lower() in {"24/7", "always"}:
        return OpeningHours.parse({"daily": "00:00-24:00"})
    if isinstance(value, dict):
        return OpeningHours.parse({str(k): str(v) for k, v in value.items()})
    raise ValueError("opening_hours: a map like {mon-fri: '07:00-20:00'} or '24/7'")


class _Named(_Entry):
    id: str
    name: str
    names: dict[Language, str] = {}  # the name in other languages, where the county has one

    def name_in(self, language: Language) -> str:
        return self.names.get(language, self.name)


class ServiceArea(_Named):
    pass


class Unit(_Named):
    service_area: str
    nps_target: float = 75.0


SERVICE_LEVEL_TARGET = 0.80
"""The share of clients to answer within a queue's `service_level_seconds` unless the registry
gives the queue its own `service_level_target` (the 80/T convention: docs/calibration.md)."""


class Queue(_Named):
    unit: str
    opening_hours: Annotated[OpeningHours | None, BeforeValidator(_opening_hours)] = None
    service_level_seconds: int = Field(default=60, ge=1)
    service_level_target: float = Field(default=SERVICE_LEVEL_TARGET, gt=0, lt=1)
    short_abandon_seconds: int = Field(default=10, ge=0)
    stale_after: Duration = timedelta(hours=4)

    def is_open(self, local: datetime) -> bool:
        return self.opening_hours is None or self.opening_hours.is_open(local)


class Pathway(_Named):
    kind: Literal["professional", "self_care", "hybrid"]
    platform: str
    service_area: str


class Registry(_Entry):
    service_areas: list[ServiceArea] = []
    units: list[Unit] = []
    queues: list[Queue] = []
    pathways: list[Pathway] = []

    @field_validator("units", "queues", "pathways", "service_areas")
    @classmethod
    def _unique_ids(cls, entries: list[_Entry]) -> list[_Entry]:
        ids = [getattr(entry, "id") for entry in entries]  # noqa: B009
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate ids: {', '.join(duplicates)}")
        return entries

    def unit(self, unit_id: str) -> Unit | None:
        return next((u for u in self.units if u.id == unit_id), None)

    def queue(self, queue_id: str) -> Queue | None:
        return next((q for q in self.queues if q.id == queue_id), None)


def load_registry(path: Path) -> Registry:
    """Read and check a registry file; errors name the file and the offending entry."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ValueError(f"registry file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"registry file {path} is not valid YAML: {exc}") from exc
    try:
        registry = Registry.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"registry file {path}: {exc}") from None
    _check_references(registry, path)
    return registry


def _check_references(registry: Registry, path: Path) -> None:
    areas = {a.id for a in registry.service_areas}
    units = {u.id for u in registry.units}
    problems = [
        f"unit {u.id}: unknown service_area {u.service_area}"
        for u in registry.units
        if u.service_area not in areas
    ]
    problems += [
        f"queue {q.id}: unknown unit {q.unit}" for q in registry.queues if q.unit not in units
    ]
    problems += [
        f"pathway {p.id}: unknown service_area {p.service_area}"
        for p in registry.pathways
        if p.service_area not in areas
    ]
    if problems:
        raise ValueError(f"registry file {path}: " + "; ".join(problems))
