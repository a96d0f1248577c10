"""GET / : the wallboard page."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["wallboard"])
