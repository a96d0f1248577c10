"""How chat events change chat_metrics' state: facts, stories, per-day figures, live state."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.chat_metrics import repository
from services.chat_metrics.exports import ChatExports, Staffing
from services.chat_metrics.figures import (
    BotFigures,
    QueueFigures,
    bot_figures,
    queue_figures,
)
from services.chat_metrics.live import LiveState
from services.chat_metrics.queues import QueueRules
from services.chat_metrics.repository import AgentState
from services.chat_metrics.stories import ChatFact, Story, derive
from services.common.chat_forecast import forecast_hour, load_histories
from services.common.consumer import BackgroundTask, Consumed, Domain, ServiceContext, periodic
from services.common.events import (
    AgentStatus,
    ChatAbandoned,
    ChatAbandonedData,
    ChatAnswered,
    ChatBotResolved,
    ChatClosed,
    ChatContactEvent,
    ChatEvent,
    ChatQueued,
    ChatStarted,
    ChatTransferred,
    Stream,
)
from services.common.figures import difference
from services.common.producer import publish
from services.common.schedule import every

TIMEOUT_NAMESPACE = uuid.UUID("6f1c7a52-5d43-4b8e-9a37-2f0f7c0c2b11")


@dataclass
class Changes:
    """What a batch changed, for the live state and the exports once its transaction commits."""

    old: dict[str, Story] = field(default_factory=dict)
    new: list[Story] = field(default_factory=list)
    partitions: dict[str, int] = field(default_factory=dict)
    agents: list[AgentState] = field(default_factory=list)


class ChatMetrics(Domain[ChatEvent, Changes]):
    def __init__(self, rules: QueueRules, exports: ChatExports) -> None:
        self.rules = rules
        self.exports = exports
        self.live = LiveState()
        self.service_levels: dict[str, float] = {}
        self.staffing: dict[str, Staffing] = {}

    async def apply(self, conn: AsyncConnection, events: Sequence[Consumed[ChatEvent]]) -> Changes:
        changes = Changes()
        facts: list[ChatFact] = []
        for consumed in events:
            match consumed.event:
                case AgentStatus() as status:
                    changes.agents.append(_agent(status, consumed.partition))
                case event:
                    facts.append(to_fact(event))
                    changes.partitions[event.data.contact_id] = consumed.partition
        changes.agents = _latest(changes.agents)
        await repository.upsert_agents(conn, changes.agents)
        if facts:
            await self._apply_contacts(conn, facts, changes)
        return changes

    async def _apply_contacts(
        self, conn: AsyncConnection, facts: list[ChatFact], changes: Changes
    ) -> None:
        contacts = list(changes.partitions)
        stored = await repository.load_facts(conn, contacts)
        await repository.insert_facts(conn, facts)
        # A contact without stored facts has no stored story either (retention forgets both).
        changes.old = await repository.load_stories(conn, list(stored))
        for fact in facts:
            stored.setdefault(fact.contact_id, []).append(fact)
        changes.new = [derive(c, stored[c], self.rules.thresholds) for c in contacts]
        queue_delta = difference(
            self._queue_figures(changes.new), self._queue_figures(changes.old.values())
        )
        bot_delta = difference(
            self._bot_figures(changes.new), self._bot_figures(changes.old.values())
        )
        await repository.replace_stories(
            conn, changes.new, changes.partitions, self.rules.tz, stored_before=changes.old
        )
        # last: other lanes' batches add to the same rows, and wait for their locks
        await repository.add_queue_daily(conn, queue_delta)
        await repository.add_bot_daily(conn, bot_delta)

    def _queue_figures(self, stories: Collection[Story]) -> QueueFigures:
        return queue_figures([v for s in stories for v in s.visits], self.rules.tz)

    def _bot_figures(self, stories: Collection[Story]) -> BotFigures:
        return bot_figures(stories, self.rules.tz)

    def committed(self, changes: Changes) -> None:
        self.live.update_contacts(changes.new, changes.partitions)
        for agent in changes.agents:
            self.live.update_agent(agent)
        self.exports.count(changes.old, changes.new)

    async def restore(self, conn: AsyncConnection, partitions: Collection[int]) -> None:
        for partition in partitions:
            self.live.reset(partition)
        for partition, contact, queue, entered, outcome in await repository.open_visits(
            conn, partitions
        ):
            if outcome == "waiting":
                self.live.set_waiting(partition, contact, queue, entered)
            else:
                self.live.set_active(partition, contact, queue)
        for agent in await repository.agents_of(conn, partitions):
            self.live.update_agent(agent)

    def release(self, partitions: Collection[int]) -> None:
        self.live.drop(partitions)

    def timeouts(self, now: datetime) -> list[ChatAbandoned]:
        """Abandon events for clients waiting past their queue's limit (docs/events.md). The id
        depends only on the visit, so every instance that sends one sends the same event."""
        events = []
        for contact, queue, entered in self.live.waiting_visits():
            deadline = self.rules.timeout_at(queue, entered)
            if deadline <= now:
                visit_key = f"{contact}|{queue}|{entered.isoformat()}"
                events.append(
                    ChatAbandoned(
                        specversion="1.0",
                        id=str(uuid.uuid5(TIMEOUT_NAMESPACE, visit_key)),
                        source="kanava/chat_metrics",
                        type="chat.abandoned",
                        time=deadline,
                        data=ChatAbandonedData(
                            contact_id=contact, queue_id=queue, reason="timeout"
                        ),
                    )
                )
        return events

    def tasks(
        self, stream: Stream[ChatEvent], sweep_seconds: float, refresh_seconds: float
    ) -> tuple[BackgroundTask, ...]:
        async def sweep(context: ServiceContext, stop: asyncio.Event) -> None:
            sent: set[str] = set()  # acknowledged, and the client still shows as waiting

            async def send() -> None:
                due = self.timeouts(datetime.now(UTC))
                await publish(context.producer, stream, [e for e in due if e.id not in sent])
                sent.clear()
                sent.update(e.id for e in due)

            await every(sweep_seconds, send, stop, "chat_metrics: stale-contact sweep")

        async def refresh(engine: AsyncEngine) -> None:
            async with engine.connect() as conn:
                self.service_levels = await repository.today_service_levels(
                    conn, _today(self.rules)
                )

        return (
            sweep,
            periodic(refresh_seconds, refresh, "chat_metrics: service level refresh"),
            periodic(refresh_seconds, self.refresh_staffing, "chat_metrics: staffing forecast"),
        )

    async def refresh_staffing(self, engine: AsyncEngine, at: datetime | None = None) -> None:
        """The forecast of this hour (the hour of `at`) and the next for every queue of the
        registry."""
        tz = self.rules.tz
        local = (at or datetime.now(UTC)).astimezone(tz)
        now = local.replace(minute=0, second=0, microsecond=0)
        then = (now + timedelta(hours=1)).astimezone(tz)
        queues = [self.rules.queue(q) for q in self.rules.known()]
        async with engine.connect() as conn:
            histories = await load_histories(
                conn, [q.id for q in queues], now.date(), now.date(), tz
            )
        self.staffing = {
            q.id: (
                forecast_hour(q, histories[q.id], now.date(), now.hour, tz),
                forecast_hour(q, histories[q.id], then.date(), then.hour, tz),
            )
            for q in queues
        }


def _today(rules: QueueRules) -> date:
    return datetime.now(UTC).astimezone(rules.tz).date()


def to_fact(event: ChatEvent) -> ChatFact:  # noqa: PLR0911 (a return per event class)
    match event:
        case ChatQueued(data=data):
            return _fact(event, queue_id=data.queue_id, via_bot=data.via_bot)
        case ChatAnswered(data=data):
            return _fact(event, queue_id=data.queue_id, agent_id=data.agent_id)
        case ChatAbandoned(data=data):
            return _fact(event, queue_id=data.queue_id, reason=data.reason)
        case ChatTransferred(data=data):
            return _fact(event, queue_id=data.from_queue_id, to_queue_id=data.to_queue_id)
        case ChatStarted(data=data):
            return _fact(event, entry=data.entry)
        case ChatClosed(data=data):
            return _fact(event, resolved=data.resolved)
        case ChatBotResolved():
            return _fact(event)
        case AgentStatus():
            raise ValueError("an agent.status is not a fact of a contact")


def _fact(event: ChatContactEvent, **fields: Any) -> ChatFact:
    return ChatFact(event.data.contact_id, event.id, event.type, event.time, **fields)


def _agent(event: AgentStatus, partition: int) -> AgentState:
    return AgentState(
        event.data.agent_id,
        partition,
        event.data.status,
        tuple(event.data.queue_ids),
        event.data.capacity,
        event.time,
        event.id,
    )


def _latest(agents: list[AgentState]) -> list[AgentState]:
    latest: dict[str, AgentState] = {}
    for agent in agents:
        if agent.supersedes(latest.get(agent.agent_id)):
            latest[agent.agent_id] = agent
    return list(latest.values())
