"""Prometheus metrics of pathway_metrics (docs/metrics.md): names and labels are the contract."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Collection, Iterator, Mapping

from prometheus_client import Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.common.registry import Registry

STARTS = Counter("kanava_pathway_starts", "Pathway enrolments started.", ["pathway", "start_mode"])
COMPLETIONS = Counter("kanava_pathway_completions", "Enrolments completed.", ["pathway"])
DISCONTINUED = Counter("kanava_pathway_discontinued", "Enrolments discontinued.", ["pathway"])
PATHWAY_INFO = Gauge(
    "kanava_pathway_info",
    "Names of pathways, for joins in PromQL.",
    ["pathway", "kind", "platform", "service_area", "name"],
)


def publish_pathway_info(registry: Registry) -> None:
    for p in registry.pathways:
        PATHWAY_INFO.labels(p.id, p.kind, p.platform, p.service_area, p.name).set(1)


def count(deltas: Mapping[tuple[object, ...], int]) -> None:
    """Add what a committed batch added (a late start moving counts cannot take them back)."""
    for (_, pathway, _, _, _, _, mode, measure), n in deltas.items():
        if n <= 0:
            continue
        if measure == "starts":
            STARTS.labels(pathway, mode).inc(n)
        elif measure == "completions":
            COMPLETIONS.labels(pathway).inc(n)
        elif measure == "discontinued":
            DISCONTINUED.labels(pathway).inc(n)


class ActiveCollector(Collector):
    """Active enrolments of the partitions this instance owns: `sum by (pathway)` over
    instances is the county's number."""

    def __init__(
        self, active: Callable[[], Mapping[int, Tally[str]]], known: Collection[str]
    ) -> None:
        self.active = active
        self.known = known

    def collect(self) -> Iterator[GaugeMetricFamily]:
        total: Tally[str] = Tally(dict.fromkeys(self.known, 0))
        for by_pathway in self.active().values():
            total.update(by_pathway)
        family = GaugeMetricFamily(
            "kanava_pathway_active", "Enrolments started and not ended, now.", labels=["pathway"]
        )
        for pathway, n in sorted(total.items()):
            family.add_metric([pathway], n)
        yield family
