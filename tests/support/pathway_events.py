"""Building pathway events for tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.events import PATHWAY
from tests.support.chat_events import build


def pathway(event_type: str, enrolment: str, when: datetime, **data: Any) -> Any:
    event_id = data.pop("event_id", None)
    return build(PATHWAY, f"pathway.{event_type}", when, event_id, enrolment_id=enrolment, **data)
