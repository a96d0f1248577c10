"""A row of a chat log export (one chat a row) as the chat events of docs/events.md.

A row has the chat's id and queue, when it entered the queue and when it ended, and when it
was answered or that it was abandoned; when it started is optional. Its events: `chat.started`
(when known), `chat.queued`, then `chat.answered` and `chat.closed`, or `chat.abandoned` when
it ended. Each event's id is derived from the export's name, the chat and the event's type, so
importing the same rows again sends the same events, which the services count once.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.common.events import CHAT, ChatEvent, Envelope
from services.importer.rows import NAMESPACE as NAMESPACE
from services.importer.rows import BadRow as BadRow
from services.importer.rows import Row, Source, event, in_order, reader, time_of

if TYPE_CHECKING:
    from services.importer.mapping import Mapping

FIELDS = ("chat_id", "queue", "started", "queued", "answered", "ended", "abandoned")


def chat_events(mapping: Mapping, row: Row) -> list[ChatEvent]:
    """The row's events, in time order; BadRow says why there are none."""
    field = reader(mapping, row)
    chat_id, queue = field("chat_id"), field("queue")
    if not chat_id:
        raise BadRow("no chat id")
    if not queue:
        raise BadRow("no queue")
    times = {
        name: time_of(mapping, name, field(name))
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
    in_order(list(times.values()), "started ≤ queued ≤ answered ≤ ended")
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
    return [
        event(CHAT, mapping, contact, kind, when, {"contact_id": contact, **data})
        for kind, when, data in steps
    ]


def _events(mapping: Mapping, row: Row, _key: str) -> list[Envelope]:
    return list(chat_events(mapping, row))


SOURCE = Source("chat_log", FIELDS, ("chat_id", "queue", "queued", "ended"), CHAT, _events)
