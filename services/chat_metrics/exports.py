"""Prometheus metrics of chat_metrics (docs/metrics.md): names and labels are the contract."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TypeAlias

from prometheus_client import Counter as CounterMetric
from prometheus_client import Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.chat_metrics.live import LiveState
from services.chat_metrics.queues import QueueRules
from services.chat_metrics.stories import Story, Visit
from services.common.chat_forecast import HourForecast
from services.common.registry import Registry

WAIT_BUCKETS = (5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600)
HANDLE_BUCKETS = (60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 7200)

QUEUE_INFO = Gauge(
    "kanava_chat_queue_info",
    "Names of chat queues, for joins in PromQL.",
    ["queue", "unit", "service_area", "name"],
)
OFFERED = CounterMetric(
    "kanava_chat_offered", "Entries into the queue (queued and transferred in).", ["queue"]
)
ANSWERED = CounterMetric(
    "kanava_chat_answered", "Queue visits answered by a professional.", ["queue"]
)
ANSWERED_WITHIN_SL = CounterMetric(
    "kanava_chat_answered_within_sl",
    "Queue visits answered within the queue's service-level seconds.",
    ["queue"],
)
TRANSFERRED_OUT = CounterMetric(
    "kanava_chat_transferred_out",
    "Queue visits that left by a transfer to another queue.",
    ["queue"],
)
ABANDONED = CounterMetric(
    "kanava_chat_abandoned",
    "Queue visits that left unanswered; short: waited under the short limit.",
    ["queue", "short"],
)
BOT_SESSIONS = CounterMetric("kanava_chat_bot_sessions", "Chats that started with the chatbot.")
BOT_RESOLVED = CounterMetric("kanava_chat_bot_resolved", "Chats the chatbot ended without a human.")
BOT_HANDOVERS = CounterMetric("kanava_chat_bot_handovers", "Chats the chatbot handed to a queue.")


Tally: TypeAlias = Counter[tuple[CounterMetric, tuple[str, ...]]]
"""Additions per counter and label values."""
Staffing: TypeAlias = tuple[HourForecast, HourForecast]
"""A queue's forecast of the current hour and of the next."""


def wait_histogram(thresholds: Iterable[int]) -> Histogram:
    return Histogram(
        "kanava_chat_wait_seconds",
        "Wait of a queue visit, from entering the queue to leaving it.",
        ["queue", "outcome"],
        buckets=sorted(set(WAIT_BUCKETS) | set(thresholds)),
    )


HANDLE = Histogram(
    "kanava_chat_handle_seconds",
    "Conversation time, answered to closed.",
    ["queue"],
    buckets=HANDLE_BUCKETS,
)


def publish_queue_info(registry: Registry) -> None:
    for queue in registry.queues:
        unit = registry.unit(queue.unit)
        QUEUE_INFO.labels(queue.id, queue.unit, unit.service_area if unit else "", queue.name).set(
            1
        )


class ChatExports:
    """Counts what committed batches changed; counters only go up (a late event that turns an
    abandon into an answer adds the answer; the exact figures are in Postgres)."""

    def __init__(self, wait: Histogram) -> None:
        self.wait = wait

    def count(self, old: Mapping[str, Story], new: Iterable[Story]) -> None:
        """Tallies a batch first and adds to each series once: one label lookup and one lock
        per series rather than per visit."""
        tally: Tally = Counter()
        waits: dict[tuple[str, str], list[float]] = defaultdict(list)
        handles: dict[str, list[float]] = defaultdict(list)
        for story in new:
            before = old.get(story.contact_id)
            _count_bot(before, story, tally)
            previous = {v.seq: v for v in before.visits} if before else {}
            for visit in story.visits:
                was = previous.get(visit.seq)
                if was is None or was.queue_id != visit.queue_id:
                    tally[OFFERED, (visit.queue_id,)] += 1
                    if visit.via_bot:
                        tally[BOT_HANDOVERS, ()] += 1
                if visit.ended_at is not None and (was is None or was.ended_at is None):
                    _count_end(visit, tally, waits)
                if (
                    visit.closed_by == "closed"
                    and visit.handle_ms is not None
                    and (was is None or was.closed_at is None)
                ):
                    handles[visit.queue_id].append(visit.handle_ms / 1000)
        for (metric, labels), count in tally.items():
            (metric.labels(*labels) if labels else metric).inc(count)
        for (queue, outcome), values in waits.items():
            _observe(self.wait.labels(queue, outcome), values)
        for queue, values in handles.items():
            _observe(HANDLE.labels(queue), values)


def _count_bot(before: Story | None, story: Story, tally: Tally) -> None:
    if story.entry == "bot" and (before is None or before.entry != "bot"):
        tally[BOT_SESSIONS, ()] += 1
    if story.bot_resolved_at is not None and (before is None or before.bot_resolved_at is None):
        tally[BOT_RESOLVED, ()] += 1


def _count_end(visit: Visit, tally: Tally, waits: dict[tuple[str, str], list[float]]) -> None:
    queue, outcome, wait_ms = visit.queue_id, visit.outcome, visit.wait_ms or 0
    if outcome == "answered":
        tally[ANSWERED, (queue,)] += 1
        if wait_ms <= visit.service_level_seconds * 1000:
            tally[ANSWERED_WITHIN_SL, (queue,)] += 1
    elif outcome == "abandoned":
        short = wait_ms < visit.short_abandon_seconds * 1000
        tally[ABANDONED, (queue, str(short).lower())] += 1
    elif outcome == "transferred":
        tally[TRANSFERRED_OUT, (queue,)] += 1
    if outcome in ("answered", "abandoned"):
        waits[queue, outcome].append(wait_ms / 1000)


_STAFFING: tuple[tuple[str, str, Callable[[Staffing], float | None]], ...] = (
    (
        "kanava_chat_forecast_offered",
        "Entries expected into the queue this hour.",
        lambda hours: hours[0].expected_offered,
    ),
    (
        "kanava_chat_professionals_advised",
        "Professionals the queue needs this hour to meet its service-level target.",
        lambda hours: hours[0].professionals,
    ),
    (
        "kanava_chat_professionals_advised_next_hour",
        "Professionals the queue needs in the next hour to meet its service-level target.",
        lambda hours: hours[1].professionals,
    ),
)


def _staffing(staffing: Mapping[str, Staffing]) -> Iterator[GaugeMetricFamily]:
    """The forecast of the current and the next hour (docs/staffing.md); from Postgres, the
    same on every instance. A queue without history has none."""
    for name, documentation, figure in _STAFFING:
        family = GaugeMetricFamily(name, documentation, labels=["queue"])
        for queue, hours in sorted(staffing.items()):
            value = figure(hours)
            if value is not None:
                family.add_metric([queue], value)
        yield family


def _observe(histogram: Histogram, values: list[float]) -> None:
    for value in values:
        histogram.observe(value)


class LiveCollector(Collector):
    """Gauges computed at scrape time from the live state, so ages are exact to the scrape."""

    def __init__(
        self,
        live: LiveState,
        rules: QueueRules,
        service_levels: Callable[[], Mapping[str, float]],
        staffing: Callable[[], Mapping[str, Staffing]],
    ) -> None:
        self.live = live
        self.rules = rules
        self.service_levels = service_levels
        self.staffing = staffing

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = datetime.now(UTC)
        queues = self.live.queues(now, self.rules.known())
        families = {
            "waiting": ("kanava_chat_waiting", "Clients waiting in the queue now."),
            "oldest_wait_seconds": (
                "kanava_chat_oldest_wait_seconds",
                "Age of the oldest waiting visit now; 0 when none.",
            ),
            "active": ("kanava_chat_active", "Conversations answered and not closed."),
            "agents_available": (
                "kanava_chat_agents_available",
                "Professionals available on the queue.",
            ),
            "capacity_slots": (
                "kanava_chat_capacity_slots",
                "Sum of concurrent-chat capacity of available professionals.",
            ),
            "professionals_on_duty": (
                "kanava_chat_professionals_on_duty",
                "Professionals available or busy on the queue.",
            ),
        }
        for attribute, (name, documentation) in families.items():
            family = GaugeMetricFamily(name, documentation, labels=["queue"])
            for queue, state in sorted(queues.items()):
                family.add_metric([queue], getattr(state, attribute))
            yield family
        ratio = GaugeMetricFamily(
            "kanava_chat_service_level_ratio",
            "Today so far: answered within the queue's threshold / (answered + abandoned - "
            "short abandoned); from Postgres, the same on every instance.",
            labels=["queue"],
        )
        for queue, value in sorted(self.service_levels().items()):
            ratio.add_metric([queue], value)
        yield ratio
        yield from _staffing(self.staffing())
        yield from self._queue_rules(now)

    def _queue_rules(self, now: datetime) -> Iterator[GaugeMetricFamily]:
        """Opening state and wait limit of registry queues, for alert rules."""
        is_open = GaugeMetricFamily(
            "kanava_chat_queue_open",
            "1 while the queue is open (registry opening hours).",
            labels=["queue"],
        )
        limit = GaugeMetricFamily(
            "kanava_chat_queue_service_level_seconds",
            "The queue's service-level threshold: answered within it counts as in time.",
            labels=["queue"],
        )
        target = GaugeMetricFamily(
            "kanava_chat_queue_service_level_target_ratio",
            "The share of clients to answer within the threshold (registry; default 0.8).",
            labels=["queue"],
        )
        local = now.astimezone(self.rules.tz)
        for queue_id in self.rules.known():
            queue = self.rules.queue(queue_id)
            is_open.add_metric([queue_id], float(queue.is_open(local)))
            limit.add_metric([queue_id], queue.service_level_seconds)
            target.add_metric([queue_id], queue.service_level_target)
        yield is_open
        yield limit
        yield target
