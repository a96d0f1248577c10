"""The mapping file of an export (YAML, docs/import.md): which kind of records it holds, how its
columns map to Kanava's fields, and how its times and values read."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Source = Literal["chat_log"]
CHAT_LOG_FIELDS = ("chat_id", "queue", "started", "queued", "answered", "ended", "abandoned")
REQUIRED = {"chat_log": ("chat_id", "queue", "queued", "ended")}


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source
    name: str = Field(
        min_length=1, description="the export's name: part of every event id it gives"
    )
    timezone: str = "Europe/Helsinki"
    time_format: str | None = None  # strptime; None: ISO 8601
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    columns: dict[str, str]  # Kanava's field: the export's column header
    queues: dict[str, str] = {}  # the export's queue name: the registry's queue id
    yes: tuple[str, ...] = ("1", "true", "yes", "kyllä", "x")  # true values, any case

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(CHAT_LOG_FIELDS))
        if unknown:
            raise ValueError(f"unknown fields {unknown}; known: {', '.join(CHAT_LOG_FIELDS)}")
        missing = [f for f in REQUIRED["chat_log"] if f not in value]
        if missing:
            raise ValueError(f"the fields {missing} need a column")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def time(self, text: str) -> datetime:
        """A time of the export; without an offset it is local time of the mapping's zone."""
        text = text.strip()
        parsed = (
            datetime.strptime(text, self.time_format)
            if self.time_format
            else datetime.fromisoformat(text)
        )
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.zone)

    def is_yes(self, text: str) -> bool:
        return text.strip().casefold() in {y.casefold() for y in self.yes}


class BadMapping(Exception):
    pass


def load_mapping(path: Path) -> Mapping:
    try:
        return Mapping.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise BadMapping(f"{path}: {exc.strerror}") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise BadMapping(f"{path}: {exc}") from None
