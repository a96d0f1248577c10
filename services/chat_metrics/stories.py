"""What happened to one chat contact, derived from all its events sorted by event time.

The derivation is a pure function of the SET of a contact's events: whatever order they
arrive in, with whatever duplicates, the same visits come out, so the aggregates built from
them are the same. Ties in time are broken by the natural order of a chat (queued before
answered before closed), then by event id.

Rules for events that do not fit the story (docs/services.md#chat_metrics, "Late and odd
events"):
- `chat.answered` or `chat.abandoned` for a queue the contact is not waiting in: if the
  contact has no visit there at all, a visit is inferred that entered at that moment (wait 0,
  `entered_by = "inferred"`); otherwise the event is ignored (the visit already ended).
- `chat.transferred` from a queue the contact is not waiting in: the contact still enters the
  target queue; a transfer of an answered conversation ends that conversation (its handle
  time runs to the transfer) and the visit stays answered.
- `chat.queued` while waiting in another queue ends that visit as transferred.
- `chat.closed` without an open conversation is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

Rules = Callable[[str], tuple[int, int]]
_ORDER = {
    "chat.started": 0,
    "chat.queued": 1,
    "chat.transferred": 2,
    "chat.answered": 3,
    "chat.abandoned": 4,
    "chat.bot_resolved": 5,
    "chat.closed": 6,
}


class ChatFact(NamedTuple):
    """One stored chat event of a contact: the fields the derivation needs. A named tuple in
    the column order of `chat_contact_events`: one is made per event and per stored row, and
    is copied into the table as it is."""

    contact_id: str
    event_id: str
    type: str
    time: datetime
    queue_id: str | None = None
    to_queue_id: str | None = None
    agent_id: str | None = None
    entry: str | None = None
    via_bot: bool = False
    reason: str | None = None
    resolved: bool | None = None


@dataclass(slots=True)
class Visit:
    """A stay in one queue: entered, then answered, abandoned or transferred (or waiting)."""

    seq: int
    queue_id: str
    entered_at: datetime
    entered_by: str  # queued | transfer | inferred
    via_bot: bool = False
    outcome: str = "waiting"  # waiting | answered | abandoned | transferred
    ended_at: datetime | None = None
    abandon_reason: str | None = None
    agent_id: str | None = None
    closed_at: datetime | None = None
    resolved: bool | None = None
    closed_by: str | None = None  # closed | transfer
    service_level_seconds: int = 60
    short_abandon_seconds: int = 10

    @property
    def wait_ms(self) -> int | None:
        if self.ended_at is None:
            return None
        return round((self.ended_at - self.entered_at).total_seconds() * 1000)

    @property
    def handle_ms(self) -> int | None:
        if self.closed_at is None or self.ended_at is None:
            return None
        return round((self.closed_at - self.ended_at).total_seconds() * 1000)

    @property
    def in_conversation(self) -> bool:
        return self.outcome == "answered" and self.closed_at is None


@dataclass(slots=True)
class Story:
    contact_id: str
    entry: str | None = None
    started_at: datetime | None = None
    bot_resolved_at: datetime | None = None
    visits: list[Visit] = field(default_factory=list)

    def waiting_visit(self) -> Visit | None:
        return next((v for v in reversed(self.visits) if v.outcome == "waiting"), None)

    def conversation(self) -> Visit | None:
        return next((v for v in reversed(self.visits) if v.in_conversation), None)


def derive(contact_id: str, facts: Iterable[ChatFact], rules: Rules) -> Story:
    """The contact's story; `rules` gives each queue's (service level, short abandon) seconds,
    recorded on the visit so its figures can later be taken back exactly as they were added."""
    story = Story(contact_id)
    unique = {fact.event_id: fact for fact in facts}.values()
    for fact in sorted(unique, key=lambda f: (f.time, _ORDER.get(f.type, 9), f.event_id)):
        _STEPS[fact.type](story, fact)
    for visit in story.visits:
        visit.service_level_seconds, visit.short_abandon_seconds = rules(visit.queue_id)
    return story


def _started(story: Story, fact: ChatFact) -> None:
    if story.started_at is None:
        story.started_at, story.entry = fact.time, fact.entry


def _bot_resolved(story: Story, fact: ChatFact) -> None:
    if story.bot_resolved_at is None:
        story.bot_resolved_at = fact.time


def _queued(story: Story, fact: ChatFact) -> None:
    assert fact.queue_id is not None
    waiting = story.waiting_visit()
    if waiting is not None and waiting.queue_id == fact.queue_id:
        return
    if waiting is not None:
        _end(waiting, "transferred", fact.time)
    _enter(story, fact.queue_id, fact.time, "queued", fact.via_bot)


def _transferred(story: Story, fact: ChatFact) -> None:
    assert fact.queue_id is not None
    assert fact.to_queue_id is not None
    waiting = story.waiting_visit()
    if waiting is not None and waiting.queue_id == fact.queue_id:
        _end(waiting, "transferred", fact.time)
    conversation = story.conversation()
    if conversation is not None and conversation.queue_id == fact.queue_id:
        conversation.closed_at, conversation.closed_by = fact.time, "transfer"
    _enter(story, fact.to_queue_id, fact.time, "transfer", False)


def _answered(story: Story, fact: ChatFact) -> None:
    visit = _visit_to_end(story, fact)
    if visit is not None:
        _end(visit, "answered", fact.time)
        visit.agent_id = fact.agent_id


def _abandoned(story: Story, fact: ChatFact) -> None:
    visit = _visit_to_end(story, fact)
    if visit is not None:
        _end(visit, "abandoned", fact.time)
        visit.abandon_reason = fact.reason or "client_left"


def _closed(story: Story, fact: ChatFact) -> None:
    conversation = story.conversation()
    if conversation is not None:
        conversation.closed_at, conversation.closed_by = fact.time, "closed"
        conversation.resolved = fact.resolved


def _visit_to_end(story: Story, fact: ChatFact) -> Visit | None:
    assert fact.queue_id is not None
    waiting = story.waiting_visit()
    if waiting is not None and waiting.queue_id == fact.queue_id:
        return waiting
    if any(v.queue_id == fact.queue_id for v in story.visits):
        return None
    if waiting is not None:
        _end(waiting, "transferred", fact.time)
    return _enter(story, fact.queue_id, fact.time, "inferred", False)


def _enter(story: Story, queue_id: str, at: datetime, by: str, via_bot: bool) -> Visit:
    visit = Visit(len(story.visits) + 1, queue_id, at, by, via_bot)
    story.visits.append(visit)
    return visit


def _end(visit: Visit, outcome: str, at: datetime) -> None:
    visit.outcome, visit.ended_at = outcome, at


_STEPS = {
    "chat.started": _started,
    "chat.bot_resolved": _bot_resolved,
    "chat.queued": _queued,
    "chat.transferred": _transferred,
    "chat.answered": _answered,
    "chat.abandoned": _abandoned,
    "chat.closed": _closed,
}
