"""Consumer metrics common to every service (SPEC §6); bounded labels only."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "kanava_consumer_events",
    "Events read by a consumer service, by what became of them.",
    ["service", "topic", "outcome"],
)
LAG = Gauge(
    "kanava_consumer_lag",
    "Messages in a partition not yet applied by the instance that owns the partition.",
    ["service", "topic", "partition"],
)
BATCH_SECONDS = Histogram(
    "kanava_consumer_batch_seconds",
    "Time to apply one batch: validation, dead letters, database transaction, Kafka commit.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
FRESHNESS = Histogram(
    "kanava_event_freshness_seconds",
    "Time from the Kafka append of an event to its effect committed in PostgreSQL.",
    ["service"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
DATABASE_RETRIES = Counter(
    "kanava_consumer_database_retries",
    "Batches retried because the database was unavailable.",
    ["service"],
)
