"""Prometheus metrics of feedback_ingest (docs/metrics.md): names and labels are the contract.

Counters go up by what committed batches added (a late event that moves a response to another
category adds to the new one; exact figures are in Postgres). The window gauges are computed
from Postgres by every instance alike; NPS and its interval are left out below `min_responses`
and the drop z-score below `min_alert_responses` in the last 7 days (docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.common.registry import Registry
from services.feedback_ingest.windows import UnitWindows

SURVEYS_SENT = Counter("kanava_feedback_surveys_sent", "Surveys sent after visits.", ["unit"])
DELIVERY_FAILED = Counter(
    "kanava_feedback_delivery_failed", "Surveys the operator could not deliver.", ["unit"]
)
RESPONSES = Counter(
    "kanava_feedback_responses",
    "Surveys that got a score, by NPS category.",
    ["unit", "category"],
)
REPLIES = Counter(
    "kanava_feedback_replies",
    "SMS replies by what they were read as.",
    ["outcome"],
)
_COUNTER_OF = {
    "surveys_sent": SURVEYS_SENT,
    "delivery_failed": DELIVERY_FAILED,
}
_CATEGORY_OF = {"promoters": "promoter", "passives": "passive", "detractors": "detractor"}


def count(
    units: Mapping[tuple[date, str, str, str], int], replies: Mapping[tuple[date, str, str], int]
) -> None:
    """Add what a committed batch added (negative changes cannot be taken back)."""
    for (_, unit, _, measure), value in units.items():
        if value <= 0:
            continue
        if measure in _CATEGORY_OF:
            RESPONSES.labels(unit, _CATEGORY_OF[measure]).inc(value)
        else:
            _COUNTER_OF[measure].labels(unit).inc(value)
    for (_, outcome, _), value in replies.items():
        if value > 0:
            REPLIES.labels(outcome).inc(value)


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_responses: int = 5
    min_alert_responses: int = 30


class WindowCollector(Collector):
    """NPS, interval, responses, response ratio per unit and window; drop z-score; targets."""

    def __init__(
        self,
        windows: Callable[[], Mapping[str, UnitWindows]],
        registry: Registry,
        thresholds: Thresholds,
    ) -> None:
        self.windows = windows
        self.registry = registry
        self.thresholds = thresholds

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_window = ["unit", "window"]
        nps = GaugeMetricFamily(
            "kanava_nps", "NPS = 100 (promoters - detractors) / responses.", labels=by_window
        )
        lower = GaugeMetricFamily(
            "kanava_nps_ci95_lower", "NPS - 1.96 x its standard error.", labels=by_window
        )
        upper = GaugeMetricFamily(
            "kanava_nps_ci95_upper", "NPS + 1.96 x its standard error.", labels=by_window
        )
        responses = GaugeMetricFamily(
            "kanava_nps_responses", "Surveys sent in the window that got a score.", labels=by_window
        )
        ratio = GaugeMetricFamily(
            "kanava_feedback_response_ratio",
            "Responses / (surveys sent - delivery failed), surveys sent in the window.",
            labels=by_window,
        )
        alarm = GaugeMetricFamily(
            "kanava_nps_drop_alarm",
            "1 while the NPS-drop detector signals a sustained drop (docs/nps-drop.md).",
            labels=["unit"],
        )
        statistic = GaugeMetricFamily(
            "kanava_nps_drop_statistic",
            "The detector's CUSUM in nats: the alarm turns on at H, off under H / 2.",
            labels=["unit"],
        )
        drop = GaugeMetricFamily(
            "kanava_nps_drop_zscore",
            "(NPS 7d - NPS of the 28 days before) / sqrt(var7 + var28); a drop is <= -2.33.",
            labels=["unit"],
        )
        for unit, figures in sorted(self.windows().items()):
            for window, w in figures.windows.items():
                responses.add_metric([unit, window], w.responses.count)
                if w.response_ratio is not None:
                    ratio.add_metric([unit, window], w.response_ratio)
                interval = w.responses.ci95()
                if w.responses.count >= self.thresholds.min_responses and interval is not None:
                    assert w.responses.nps is not None
                    nps.add_metric([unit, window], w.responses.nps)
                    lower.add_metric([unit, window], interval[0])
                    upper.add_metric([unit, window], interval[1])
            z = figures.drop_zscore
            enough = (
                figures.recent.responses.count >= self.thresholds.min_alert_responses
                and figures.baseline.responses.count >= self.thresholds.min_responses
            )
            if z is not None and enough:
                drop.add_metric([unit], z)
            if figures.drop is not None:
                alarm.add_metric([unit], float(figures.drop.alarm))
                if figures.drop.method == "cusum":
                    statistic.add_metric([unit], figures.drop.statistic)
        yield from (nps, lower, upper, responses, ratio, drop, alarm, statistic)
        target = GaugeMetricFamily("kanava_nps_target", "The unit's NPS target.", labels=["unit"])
        for registered in self.registry.units:
            target.add_metric([registered.id], registered.nps_target)
        yield target
