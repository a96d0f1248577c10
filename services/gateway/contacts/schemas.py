"""Response models of the digital-share endpoint (docs/api.md)."""

from __future__ import annotations

from pydantic import BaseModel


class ShareRow(BaseModel):
    period: str
    unit_id: str | None = None
    contacts: int
    digital_contacts: int
    digital_share: float | None
    by_channel: dict[str, int]


class ShareRows(BaseModel):
    rows: list[ShareRow]
    digital_channels: list[str]
