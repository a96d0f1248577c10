"""The mapping file of an export (YAML, docs/import.md): which kind of records it holds, how its
columns map to Kanava's fields, and how its times and values read. The kinds of records, the
sources, are registered here: each declares its fields, those it needs, its stream and its
row's events in its own module."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from services.importer import chat_log, contact_counts, pathway_starts, survey_results
from services.importer.rows import Source

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (chat_log.SOURCE, survey_results.SOURCE, pathway_starts.SOURCE, contact_counts.SOURCE)
}


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    name: str = Field(
        min_length=1, description="the export's name: part of every event id it gives"
    )
    timezone: str = "Europe/Helsinki"
    time_format: str | None = None  # strptime; None: ISO 8601
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    columns: dict[str, str]  # Kanava's field: the export's column header
    queues: dict[str, str] = {}  # the export's queue name: the registry's queue id
    units: dict[str, str] = {}  # the export's unit name: the registry's unit id
    pathways: dict[str, str] = {}  # the export's pathway name: the registry's pathway id
    channels: dict[str, str] = {}  # the export's channel name: Kanava's channel
    month_format: str = "%Y-%m"  # strptime of a month (contact_counts)
    statements: dict[str, str] = {}  # a statement's code: the column of its answers
    recipients: Literal["phone", "id"] = "phone"  # what the recipient column holds
    yes: tuple[str, ...] = ("1", "true", "yes", "kyllä", "x")  # true values, any case

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value not in SOURCES:
            raise ValueError(f"unknown source {value!r}; known: {', '.join(SOURCES)}")
        return value

    @field_validator("channels")
    @classmethod
    def _kanava_channels(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = sorted(c for c in value.values() if c not in contact_counts.CHANNELS)
        if wrong:
            raise ValueError(
                f"not Kanava's channels: {wrong}; known: {', '.join(contact_counts.CHANNELS)}"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _known_fields(self) -> Self:
        fields = SOURCES[self.source].fields
        unknown = sorted(set(self.columns) - set(fields))
        if unknown:
            raise ValueError(f"unknown fields {unknown}; known: {', '.join(fields)}")
        missing = [f for f in SOURCES[self.source].required if f not in self.columns]
        if missing:
            raise ValueError(f"the fields {missing} need a column")
        return self

    @property
    def kind(self) -> Source:
        return SOURCES[self.source]

    @property
    def mapped_columns(self) -> list[str]:
        """The export's columns that are read, in the mapping's order."""
        return [*self.columns.values(), *self.statements.values()]

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
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(content, dict) and True in content:
            content["yes"] = content.pop(True)  # YAML 1.1 reads the key `yes` as true
        return Mapping.model_validate(content)
    except OSError as exc:
        raise BadMapping(f"{path}: {exc.strerror}") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise BadMapping(f"{path}: {exc}") from None
