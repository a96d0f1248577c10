"""Prometheus metrics of contact_metrics (docs/metrics.md).

Besides the share: `kanava_contacts_in_window` and `kanava_digital_contacts_in_window` (unit,
window), so a service area's or the county's share is a `sum(...) / sum(...)` in PromQL, and
`kanava_digital_channel{channel} 1`, the definition in use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.common import formulas
from services.contact_metrics.records import DailyKey

CONTACTS = Counter("kanava_contacts", "Client contacts recorded.", ["unit", "channel"])
WINDOWS = {"today": 1, "30d": 30}


def count(deltas: Mapping[DailyKey, int]) -> None:
    """Add what a committed batch added (a correction cannot take a count back)."""
    for (_, unit, _, channel, *_), n in deltas.items():
        if n > 0:
            CONTACTS.labels(unit, channel).inc(n)


@dataclass(frozen=True, slots=True)
class Share:
    contacts: int = 0
    digital: int = 0

    def __add__(self, other: Share) -> Share:
        return Share(self.contacts + other.contacts, self.digital + other.digital)

    @property
    def ratio(self) -> float | None:
        return formulas.ratio(self.digital, self.contacts)


def unit_shares(
    rows: Iterable[tuple[str, date, int, int]], today: date
) -> dict[str, dict[str, Share]]:
    """Per unit and window (`today`, `30d` = the 30 local days ending today)."""
    shares: dict[str, dict[str, Share]] = {}
    for unit, day, contacts, digital in rows:
        for window, days in WINDOWS.items():
            if today - timedelta(days=days) < day <= today:
                by_window = shares.setdefault(unit, dict.fromkeys(WINDOWS, Share()))
                by_window[window] += Share(contacts, digital)
    return shares


class ShareCollector(Collector):
    def __init__(
        self, shares: Callable[[], Mapping[str, Mapping[str, Share]]], digital: Iterable[str]
    ) -> None:
        self.shares = shares
        self.digital = tuple(digital)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["unit", "window"]
        ratio = GaugeMetricFamily(
            "kanava_digital_contact_share",
            "Contacts in digital channels / all contacts (kanava_digital_channel lists them).",
            labels=labels,
        )
        contacts = GaugeMetricFamily(
            "kanava_contacts_in_window", "Contacts recorded in the window.", labels=labels
        )
        digital = GaugeMetricFamily(
            "kanava_digital_contacts_in_window",
            "Contacts in digital channels in the window.",
            labels=labels,
        )
        for unit, by_window in sorted(self.shares().items()):
            for window, share in by_window.items():
                contacts.add_metric([unit, window], share.contacts)
                digital.add_metric([unit, window], share.digital)
                if share.ratio is not None:
                    ratio.add_metric([unit, window], share.ratio)
        definition = GaugeMetricFamily(
            "kanava_digital_channel", "Channels counted as digital.", labels=["channel"]
        )
        for channel in self.digital:
            definition.add_metric([channel], 1)
        yield from (ratio, contacts, digital, definition)
