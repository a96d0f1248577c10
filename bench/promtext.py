"""Reading a Prometheus exposition: histogram buckets, quantiles as PromQL computes them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from prometheus_client.parser import text_string_to_metric_families

Buckets = list[tuple[float, float]]
"""(upper bound `le`, cumulative count), ascending, the last one +Inf."""


def histogram_buckets(exposition: str, name: str, labels: Mapping[str, str]) -> Buckets:
    """The cumulative buckets of one series of histogram `name` (without `_bucket`)."""
    buckets: Buckets = []
    for family in text_string_to_metric_families(exposition):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket" and all(
                sample.labels.get(k) == v for k, v in labels.items()
            ):
                buckets.append((float(sample.labels["le"]), float(sample.value)))
    return sorted(buckets)


def delta(after: Buckets, before: Buckets) -> Buckets:
    """Observations between two scrapes of the same histogram."""
    earlier = dict(before)
    return [(le, count - earlier.get(le, 0.0)) for le, count in after]


def quantile(q: float, buckets: Buckets) -> float:
    """PromQL's histogram_quantile: linear interpolation inside the bucket holding the rank;
    a rank in the +Inf bucket gives the highest finite bound."""
    if not buckets or buckets[-1][1] <= 0:
        return math.nan
    rank = q * buckets[-1][1]
    index = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    upper, count = buckets[index]
    if math.isinf(upper):
        return buckets[index - 1][0] if index > 0 else math.nan
    lower, below = buckets[index - 1] if index > 0 else (0.0, 0.0)
    if count == below:
        return upper
    return lower + (upper - lower) * (rank - below) / (count - below)


def histogram_sum_count(
    exposition: str, name: str, labels: Mapping[str, str]
) -> tuple[float, float]:
    """(`_sum`, `_count`) of one series of histogram `name`."""
    found = {"sum": 0.0, "count": 0.0}
    for family in text_string_to_metric_families(exposition):
        if family.name == name:
            for sample in family.samples:
                suffix = sample.name.removeprefix(f"{name}_")
                if suffix in found and all(sample.labels.get(k) == v for k, v in labels.items()):
                    found[suffix] = float(sample.value)
    return found["sum"], found["count"]


def gauge_sum(exposition: str, name: str) -> float:
    """Sum over every series of a gauge family."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == name
        for sample in family.samples
        if sample.name == name
    )


def counter_values(exposition: str, name: str, label: str) -> dict[str, float]:
    """`{label value: total}` of a counter family (`name` without `_total`)."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(exposition):
        if family.name == name:
            for sample in family.samples:
                if sample.name == f"{name}_total":
                    key = sample.labels.get(label, "")
                    values[key] = values.get(key, 0.0) + sample.value
    return values


def percentile(q: float, values: Sequence[float]) -> float:
    """Nearest-rank percentile of raw values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
