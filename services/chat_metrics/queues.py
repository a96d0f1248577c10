"""Queue rules from the registry, with default rules for queues the registry does not know."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.common.registry import Queue, Registry

DEFAULT_QUEUE = Queue(id="", name="", unit="")


class QueueRules:
    def __init__(self, registry: Registry, tz: ZoneInfo) -> None:
        self._queues = {queue.id: queue for queue in registry.queues}
        self.tz = tz

    def queue(self, queue_id: str) -> Queue:
        return self._queues.get(queue_id, DEFAULT_QUEUE)

    def known(self) -> list[str]:
        return list(self._queues)

    def thresholds(self, queue_id: str) -> tuple[int, int]:
        """(service_level_seconds, short_abandon_seconds) of a queue."""
        queue = self.queue(queue_id)
        return queue.service_level_seconds, queue.short_abandon_seconds

    def timeout_at(self, queue_id: str, entered: datetime) -> datetime:
        """When a client still waiting is abandoned by the service: after `stale_after`, or
        when the opening interval they entered in closes, whichever comes first."""
        queue = self.queue(queue_id)
        deadline = entered + queue.stale_after
        if queue.opening_hours is not None:
            closing = queue.opening_hours.closing_time(entered.astimezone(self.tz))
            if closing is not None:
                deadline = min(deadline, closing)
        return deadline

    def all_thresholds(self) -> set[int]:
        return {q.service_level_seconds for q in self._queues.values()} | {
            DEFAULT_QUEUE.service_level_seconds
        }
