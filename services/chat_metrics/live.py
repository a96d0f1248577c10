"""Live queue state of the partitions this instance owns: who waits, who talks, who is free.

Only this instance's partitions are held, so summing over instances gives the truth.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.chat_metrics.repository import AgentState
from services.chat_metrics.stories import Story
from services.common.chat_forecast import ON_DUTY


@dataclass
class QueueNow:
    waiting: int = 0
    oldest_wait_seconds: float = 0.0
    active: int = 0
    agents_available: int = 0
    capacity_slots: int = 0
    professionals_on_duty: int = 0  # available or busy


@dataclass
class _Partition:
    waiting: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    active: dict[str, str] = field(default_factory=dict)
    agents: dict[str, AgentState] = field(default_factory=dict)


class LiveState:
    def __init__(self) -> None:
        self._partitions: dict[int, _Partition] = {}

    def reset(self, partition: int) -> None:
        self._partitions[partition] = _Partition()

    def drop(self, partitions: Collection[int]) -> None:
        for partition in partitions:
            self._partitions.pop(partition, None)

    def set_waiting(self, partition: int, contact: str, queue: str, entered: datetime) -> None:
        self._partitions.setdefault(partition, _Partition()).waiting[contact] = (queue, entered)

    def set_active(self, partition: int, contact: str, queue: str) -> None:
        self._partitions.setdefault(partition, _Partition()).active[contact] = queue

    def update_contacts(self, stories: Iterable[Story], partitions: Mapping[str, int]) -> None:
        for story in stories:
            state = self._partitions.setdefault(partitions[story.contact_id], _Partition())
            state.waiting.pop(story.contact_id, None)
            state.active.pop(story.contact_id, None)
            if (visit := story.waiting_visit()) is not None:
                state.waiting[story.contact_id] = (visit.queue_id, visit.entered_at)
            if (conversation := story.conversation()) is not None:
                state.active[story.contact_id] = conversation.queue_id

    def update_agent(self, agent: AgentState) -> None:
        agents = self._partitions.setdefault(agent.partition, _Partition()).agents
        if agent.supersedes(agents.get(agent.agent_id)):
            agents[agent.agent_id] = agent

    def waiting_visits(self) -> Iterator[tuple[str, str, datetime]]:
        """(contact, queue, entered_at) of every client waiting in the owned partitions."""
        for state in self._partitions.values():
            for contact, (queue, entered) in state.waiting.items():
                yield contact, queue, entered

    def queues(self, now: datetime, known: Iterable[str]) -> dict[str, QueueNow]:
        result = {queue: QueueNow() for queue in known}
        for state in self._partitions.values():
            for queue, entered in state.waiting.values():
                entry = result.setdefault(queue, QueueNow())
                entry.waiting += 1
                entry.oldest_wait_seconds = max(
                    entry.oldest_wait_seconds, (now - entered).total_seconds()
                )
            for queue in state.active.values():
                result.setdefault(queue, QueueNow()).active += 1
            for agent in state.agents.values():
                if agent.status in ON_DUTY:
                    for queue in agent.queue_ids:
                        entry = result.setdefault(queue, QueueNow())
                        entry.professionals_on_duty += 1
                        if agent.status == "available":
                            entry.agents_available += 1
                            entry.capacity_slots += agent.capacity
        return result
