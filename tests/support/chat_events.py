"""Building chat events for tests, as sources send them."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.common.events import CHAT, Envelope, Stream

HELSINKI = ZoneInfo("Europe/Helsinki")
_ids = itertools.count(1)


def at(day: int, clock: str, month: int = 11) -> datetime:
    """2025-<month>-<day> at HH:MM:SS, Helsinki time."""
    hour, minute, second = (int(part) for part in clock.split(":"))
    return datetime(2025, month, day, hour, minute, second, tzinfo=HELSINKI)


def chat(event_type: str, when: datetime, event_id: str | None = None, **data: Any) -> Any:
    """A validated chat event (a pydantic model of services.common.events)."""
    return build(CHAT, event_type, when, event_id, **data)


def build(
    stream: Stream[Envelope],
    event_type: str,
    when: datetime,
    event_id: str | None = None,
    **data: Any,
) -> Any:
    """A validated event of `stream`, with a fresh id unless one is given."""
    body = {
        "specversion": "1.0",
        "id": event_id or f"t-{next(_ids)}",
        "source": "test",
        "type": event_type,
        "time": when.isoformat(),
        "data": data,
    }
    return stream.adapter.validate_python(body, strict=False)


def scenario() -> list[Any]:
    """The six contacts worked by hand in test_chat_stories (queue q1 and q2, 3 Nov 2025)."""
    return [
        chat("chat.started", at(3, "10:00:00"), contact_id="c1", entry="queue"),
        chat("chat.queued", at(3, "10:00:05"), contact_id="c1", queue_id="q1"),
        chat("chat.answered", at(3, "10:00:50"), contact_id="c1", queue_id="q1", agent_id="a1"),
        chat("chat.closed", at(3, "10:10:50"), contact_id="c1", resolved=True),
        chat("chat.queued", at(3, "10:01:00"), contact_id="c2", queue_id="q1"),
        chat("chat.abandoned", at(3, "10:01:08"), contact_id="c2", queue_id="q1"),
        chat("chat.queued", at(3, "10:02:00"), contact_id="c3", queue_id="q1"),
        chat("chat.abandoned", at(3, "10:04:00"), contact_id="c3", queue_id="q1"),
        chat("chat.started", at(3, "10:03:00"), contact_id="c4", entry="bot"),
        chat("chat.queued", at(3, "10:05:00"), contact_id="c4", queue_id="q1", via_bot=True),
        chat("chat.answered", at(3, "10:06:30"), contact_id="c4", queue_id="q1", agent_id="a2"),
        chat("chat.closed", at(3, "10:16:30"), contact_id="c4", resolved=False),
        chat("chat.started", at(3, "10:04:00"), contact_id="c5", entry="bot"),
        chat("chat.bot_resolved", at(3, "10:06:00"), contact_id="c5"),
        chat("chat.queued", at(3, "10:07:00"), contact_id="c6", queue_id="q1"),
        chat(
            "chat.transferred",
            at(3, "10:07:30"),
            contact_id="c6",
            from_queue_id="q1",
            to_queue_id="q2",
        ),
        chat("chat.answered", at(3, "10:08:00"), contact_id="c6", queue_id="q2"),
        chat("chat.closed", at(3, "10:20:00"), contact_id="c6", resolved=None),
    ]


# The figures of scenario(), worked out by hand (see test_chat_stories for the working).
SCENARIO_Q1 = {
    "offered": 5,
    "answered": 2,
    "abandoned": 2,
    "short_abandoned": 1,
    "timed_out": 0,
    "transferred_out": 1,
    "answered_within_sl": 1,
    "answered_wait_ms": 135_000,
    "closed": 2,
    "handle_ms": 1_200_000,
    "resolved_true": 1,
    "resolved_known": 2,
    "bot_handovers": 1,
}
SCENARIO_Q2 = {
    "offered": 1,
    "answered": 1,
    "abandoned": 0,
    "short_abandoned": 0,
    "timed_out": 0,
    "transferred_out": 0,
    "answered_within_sl": 1,
    "answered_wait_ms": 30_000,
    "closed": 1,
    "handle_ms": 720_000,
    "resolved_true": 0,
    "resolved_known": 0,
    "bot_handovers": 0,
}
SCENARIO_BOT = {"sessions": 2, "resolved": 1}
