"""A row of a chat log export (one chat a row) as the chat events of docs/events.md.

A row has the chat's id and queue, when it entered the queue and when it ended, and when it
was answered or that it was abandoned; when it started is optional. Its events: `chat.started`
(when known), `chat.queued`, then `chat.answered` and `chat.closed`, or `chat.abandoned` when
it ended. Each event's id is derived from the export's name, the chat and the event's type, so
importing the same rows again sends the same events, which the services count once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from services.common.events import CHAT, ChatEvent, InvalidEvent
from services.importer.mapping import Mapping

NAMESPACE = uuid.UUID("8d0f2b6e-0d77-4d56-9a8e-3f2f1c9b7a10")
SOURCE = "kanava/import"


class BadRow(Exception):
    """What is wrong with a row, for its line in the error file."""


def chat_events(mapping: Mapping, row: dict[str, str]) -> list[ChatEvent]:
    """The row's events, in time order; BadRow says why there are none."""
    field = _reader(mapping, row)
    chat_id, queue = field("chat_id"), field("queue")
    if not chat_id:
        raise BadRow("no chat id")
    if not queue:
        raise BadRow("no queue")
    times = {
        name: _time(mapping, name, field(name))
        for name in ("started", "queued", "answered", "ended")
    }
    queued, answered, ended = times["queued"], times["answered"], times["ended"]
    if queued is None or ended is None:
        raise BadRow("a chat needs the time it entered the queue and the time it ended")
    abandoned = (
        mapping.is_yes(field("abandoned")) if "abandoned" in mapping.columns else answered is None
    )
    if abandoned == (answered is not None):
        raise BadRow("a chat is either answered (with its time) or abandoned")
    order = [t for t in (times["started"], queued, answered, ended) if t is not None]
    if order != sorted(order):
        raise BadRow("the times are not in order: started ≤ queued ≤ answered ≤ ended")
    contact = f"{mapping.name}:{chat_id}"
    queue_id = mapping.queues.get(queue, queue)
    steps: list[tuple[str, datetime, dict[str, Any]]] = []
    if times["started"] is not None:
        steps.append(("chat.started", times["started"], {"entry": "queue"}))
    steps.append(("chat.queued", queued, {"queue_id": queue_id}))
    if answered is None:
        steps.append(("chat.abandoned", ended, {"queue_id": queue_id, "reason": "client_left"}))
    else:
        steps.append(("chat.answered", answered, {"queue_id": queue_id}))
        steps.append(("chat.closed", ended, {}))
    return [_event(mapping, contact, kind, when, data) for kind, when, data in steps]


def _reader(mapping: Mapping, row: dict[str, str]) -> Callable[[str], str]:
    def field(name: str) -> str:
        column = mapping.columns.get(name)
        return (row.get(column) or "").strip() if column else ""

    return field


def _time(mapping: Mapping, name: str, text: str) -> datetime | None:
    if not text:
        return None
    try:
        return mapping.time(text)
    except ValueError:
        expected = mapping.time_format or "ISO 8601"
        raise BadRow(f"{name}: {text!r} is not a time ({expected})") from None


def _event(
    mapping: Mapping, contact: str, kind: str, when: datetime, data: dict[str, Any]
) -> ChatEvent:
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid5(NAMESPACE, f"{mapping.name}|{contact}|{kind}")),
        "source": SOURCE,
        "type": kind,
        "time": when.isoformat(),
        "data": {"contact_id": contact, **data},
    }
    try:
        return CHAT.parse(json.dumps(body), datetime.now(UTC), timedelta(hours=1))
    except InvalidEvent as exc:
        raise BadRow(f"{kind}: {exc.reason}: {exc.detail}") from None
