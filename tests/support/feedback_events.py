"""Building feedback events for tests, as the survey tool and the SMS operator send them."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from services.common.events import FEEDBACK
from tests.support.chat_events import build


def recipient(name: str) -> str:
    """A stand-in for a hashed phone number: 64 lowercase hex digits."""
    return hashlib.sha256(name.encode()).hexdigest()


def sent(survey: str, to: str | None, unit: str, when: datetime, **data: Any) -> Any:
    return build(
        FEEDBACK, "survey.sent", when, survey_id=survey, recipient=to, unit_id=unit, **data
    )


def sms(to: str, text: str, when: datetime, event_id: str | None = None) -> Any:
    message = event_id and f"m-{event_id}"
    return build(
        FEEDBACK, "sms.received", when, event_id, recipient=to, text=text, message_id=message
    )


def answered(survey: str, score: int | None, when: datetime, **data: Any) -> Any:
    return build(FEEDBACK, "survey.answered", when, survey_id=survey, score=score, **data)


def failed(survey: str, when: datetime) -> Any:
    return build(FEEDBACK, "survey.delivery_failed", when, survey_id=survey, reason="bounced")
