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


def month_count(
    unit: str,
    channel: str,
    month: str,
    contacts: int,
    when: datetime,
    event_id: str | None = None,
    export: str = "avohilmo-2024",
    **data: Any,
) -> Any:
    """A `contact.month_counted`: `contacts` of `unit` in `channel` in `month`, counted at
    `when`."""
    return build(
        CONTACT,
        "contact.month_counted",
        when,
        event_id,
        export=export,
        unit_id=unit,
        channel=channel,
        month=month,
        contacts=contacts,
        **data,
    )
