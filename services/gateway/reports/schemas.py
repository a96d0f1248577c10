"""The monthly report as data (the JSON format; the other formats render it).

Every comparison holds the month, the previous month and the same month a year before; a
period without data is null. Ratios are fractions (0.8 = 80 %), times seconds.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from services.common.i18n import Language
from services.common.nps_drop import Method
from services.gateway.feedback.schemas import NpsFigures


class ChatFigures(BaseModel):
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    transferred_out: int
    service_level: float | None
    asa_seconds: float | None
    abandon_rate: float | None
    resolved_rate: float | None


class ChatComparison(BaseModel):
    month: ChatFigures | None
    previous_month: ChatFigures | None
    year_before: ChatFigures | None
    service_level_target: float
    service_level_target_met: bool | None = Field(
        description="the month's service level is at least the target; null without one"
    )


class BotFigures(BaseModel):
    sessions: int
    resolved: int
    containment: float | None


class BotComparison(BaseModel):
    month: BotFigures | None
    previous_month: BotFigures | None
    year_before: BotFigures | None


class NpsDrop(BaseModel):
    """The NPS-drop detector's view of a unit's month (docs/nps-drop.md)."""

    alarm_at_month_end: bool = Field(
        description="on the evening of the month's last day (of today in the current month)"
    )
    since: date | None = Field(description="the first day of the alarm on at month end")
    days_on: int = Field(description="evenings of the month with the alarm on")
    method: Method = Field(description="the detector's method at month end")


class NpsComparison(BaseModel):
    month: NpsFigures | None
    previous_month: NpsFigures | None
    year_before: NpsFigures | None
    target: float | None = Field(description="the unit's nps_target; null above unit level")
    target_met: bool | None
    drop: NpsDrop | None = Field(
        description="units only: the drop detector's view of the month; null above unit level"
    )


class ShareFigures(BaseModel):
    contacts: int
    digital_contacts: int
    digital_share: float | None
    by_channel: dict[str, int]


class ShareComparison(BaseModel):
    month: ShareFigures | None
    previous_month: ShareFigures | None
    year_before: ShareFigures | None
    target: float
    target_met: bool | None


class PathwayFigures(BaseModel):
    starts: int
    completions: int
    discontinued: int
    active: int = Field(description="started and not ended at the end of the month")
    completion_rate: float | None
    thumbs_up: int
    thumbs_down: int


class PathwayComparison(BaseModel):
    pathway_id: str | None = Field(description="null: all pathways of the group")
    name: str
    kind: str | None
    month: PathwayFigures | None
    previous_month: PathwayFigures | None
    year_before: PathwayFigures | None


class QueueReport(BaseModel):
    queue_id: str
    name: str
    service_level_seconds: int
    chat: ChatComparison


class UnitReport(BaseModel):
    unit_id: str | None = Field(description="null: queues missing from the registry")
    name: str
    chat: ChatComparison | None
    queues: list[QueueReport]
    nps: NpsComparison | None
    digital_share: ShareComparison | None


class ServiceAreaReport(BaseModel):
    service_area_id: str | None = Field(description="null: ids missing from the registry")
    name: str
    chat: ChatComparison | None
    nps: NpsComparison | None
    digital_share: ShareComparison | None
    pathways: list[PathwayComparison]
    units: list[UnitReport]


class TotalReport(BaseModel):
    """Everything the report covers: the county, or the units a limited token sees."""

    name: str
    chat: ChatComparison | None
    chatbot: BotComparison | None = Field(description="county-wide reports only")
    nps: NpsComparison | None
    digital_share: ShareComparison | None
    pathways: PathwayComparison | None


class StatementFigures(BaseModel):
    """The month's answers to one statement of the national feedback model (docs/metrics.md):
    for all units of the report (`unit_id` null), or one unit."""

    unit_id: str | None
    name: str
    statement: str
    responses: int
    distribution: dict[str, int] = Field(description="how many answered each value, 1 to 5")
    mean: float | None = Field(description="null when suppressed")
    suppressed: bool


class TrendPoint(BaseModel):
    month: str
    chat_offered: int | None
    chat_service_level: float | None
    nps: float | None
    nps_ci95_lower: float | None
    nps_ci95_upper: float | None
    nps_responses: int | None
    digital_share: float | None


class Targets(BaseModel):
    chat_service_level: float
    digital_share: float
    nps_by_unit: dict[str, float]
    nps_default: float


class Definition(BaseModel):
    term: str
    text: str


class Definitions(BaseModel):
    formula_version: str
    timezone: str
    service_level_seconds: dict[str, int] = Field(description="per queue, from the registry")
    short_abandon_seconds: dict[str, int] = Field(description="per queue, from the registry")
    digital_channels: list[str]
    min_responses: int
    terms: list[Definition]


class Scope(BaseModel):
    limited: bool = Field(description="the report covers only some units")
    units: list[str] | None = Field(description="the units covered; null: all")
    description: str


class Metadata(BaseModel):
    generated_at: datetime = Field(description="the only value that differs between runs")
    generator: str
    language: Language = Field(description="the language of the report's texts")


class MonthlyReport(BaseModel):
    month: str
    previous_month: str
    year_before: str
    title: str
    scope: Scope
    total: TotalReport
    service_areas: list[ServiceAreaReport]
    statements: list[StatementFigures] = Field(
        description="the month's national statements: all units first, then each unit"
    )
    trend: list[TrendPoint] = Field(description="the month and the 12 before it, oldest first")
    targets: Targets
    definitions: Definitions
    metadata: Metadata
