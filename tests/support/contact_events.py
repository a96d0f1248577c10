"""Building contact-register events for tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.events import CONTACT
from tests.support.chat_events import build


def contact(
    contact_id: str,
    unit: str,
    channel: str,
    when: datetime,
    event_id: str | None = None,
    **data: Any,
) -> Any:
    return build(
        CONTACT,
        "contact.recorded",
        when,
        event_id,
        contact_id=contact_id,
        unit_id=unit,
        channel=channel,
        **data,
    )
