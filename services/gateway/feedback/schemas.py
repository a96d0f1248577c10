"""Models of the feedback endpoints (docs/api.md)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.nps_drop import Method


class NpsFigures(BaseModel):
    """NPS of a group over a period (docs/metrics.md); nps and ci95 are null when suppressed."""

    surveys_sent: int
    delivery_failed: int
    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    ci95_lower: float | None
    ci95_upper: float | None
    response_rate: float | None
    suppressed: bool


class NpsRow(NpsFigures):
    """A period's figures; a unit's row also has the NPS-drop detector's evening of the
    period's last day (docs/nps-drop.md), the other rows null there."""

    period: str
    unit_id: str | None = None
    drop_alarm: bool | None = Field(description="the drop alarm is on")
    drop_since: date | None = Field(description="the first day of the alarm now on")
    drop_method: Method | None = Field(description="cusum, fallback or none")


class NpsRows(BaseModel):
    rows: list[NpsRow]
    min_responses: int


class CommentOut(BaseModel):
    date: date
    unit_id: str
    service_area: str
    score: int | None
    text: str


class Comments(BaseModel):
    comments: list[CommentOut]
    suppressed_units: list[str]


class Suppression(BaseModel):
    recipient: str
    suppressed: bool
    since: datetime | None
    reason: str | None


class SuppressionIn(BaseModel):
    """A client refused surveys by telling staff: give the phone number (hashed here, never
    stored) or the recipient hash."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(default=None, min_length=3, max_length=40)
    recipient: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    reason: str = Field(default="staff", min_length=1, max_length=200, pattern=r"^[^\x00]+$")

    @model_validator(mode="after")
    def _one_of(self) -> SuppressionIn:
        if (self.phone is None) == (self.recipient is None):
            raise ValueError("give exactly one of phone and recipient")
        return self


class StatementRow(BaseModel):
    """Answers to one statement of the national feedback model (1 = disagree fully ...
    5 = agree fully) in a period (and unit)."""

    period: str
    unit_id: str | None = None
    statement: str
    responses: int = Field(description="answers to the statement")
    distribution: dict[str, int] = Field(description="how many answered each value, 1 to 5")
    mean: float | None = Field(description="mean answer; null below min_responses answers")
    suppressed: bool


class StatementRows(BaseModel):
    rows: list[StatementRow]
    min_responses: int
