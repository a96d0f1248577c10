"""Consumer metrics common to every service (docs/metrics.md); bounded labels only."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from services.common.registry import Registry

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
STALLED = Gauge(
    "kanava_consumer_stalled",
    "1 while fetching or storing fails for the same reason (the consumer retries from the "
    "offsets stored in PostgreSQL); 0 once it goes on.",
    ["service", "reason"],
)
BATCH_SECONDS = Histogram(
    "kanava_consumer_batch_seconds",
    "Time to apply one batch: validation, dead letters, database transaction, Kafka commit.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class BatchHistogram(Collector):
    """A histogram fed a batch at a time. prometheus-client's `observe` takes a lock and walks
    the buckets for every value; freshness is observed for every event, so here one bisect
    per value counts into plain lists, and the exposition is built at scrape time."""

    def __init__(self, name: str, documentation: str, label: str, buckets: Sequence[float]) -> None:
        self.name, self.documentation, self.label = name, documentation, label
        self.bounds = list(buckets)
        self._series: dict[str, tuple[list[int], list[float]]] = {}

    def observe_many(self, label_value: str, values: Iterable[float]) -> None:
        counts, total = self._series.setdefault(label_value, ([0] * (len(self.bounds) + 1), [0.0]))
        for value in values:
            counts[bisect_left(self.bounds, value)] += 1
            total[0] += value

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=[self.label])
        for label_value, (counts, total) in self._series.items():
            cumulative = list(accumulate(counts))
            buckets = [(str(float(b)), c) for b, c in zip(self.bounds, cumulative, strict=False)]
            buckets.append(("+Inf", cumulative[-1]))
            family.add_metric([label_value], buckets, total[0])
        yield family


FRESHNESS = BatchHistogram(
    "kanava_event_freshness_seconds",
    "Time from the Kafka append of an event to its effect committed in PostgreSQL.",
    "service",
    (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
REGISTRY.register(FRESHNESS)
DATABASE_RETRIES = Counter(
    "kanava_consumer_database_retries",
    "Batches retried because the database was unavailable.",
    ["service"],
)

UNIT_INFO = Gauge(
    "kanava_unit_info", "Names of units, for joins in PromQL.", ["unit", "service_area", "name"]
)


def publish_unit_info(registry: Registry) -> None:
    """Every service exports the registry's units, so dashboards can join on any of them."""
    for unit in registry.units:
        UNIT_INFO.labels(unit.id, unit.service_area, unit.name).set(1)
