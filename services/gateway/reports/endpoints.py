"""GET /v1/reports/monthly/{YYYY-MM}."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/reports", tags=["reports"])
