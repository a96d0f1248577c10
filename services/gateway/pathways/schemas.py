"""Response models of the pathway endpoint (docs/api.md)."""

from __future__ import annotations

from pydantic import BaseModel


class PathwayRow(BaseModel):
    period: str
    pathway_id: str | None = None
    starts: int
    completions: int
    discontinued: int
    active: int
    completion_rate: float | None
    thumbs_up: int
    thumbs_down: int


class PathwayRows(BaseModel):
    rows: list[PathwayRow]
