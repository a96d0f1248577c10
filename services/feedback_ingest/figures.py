"""What a recipient's derived surveys and replies add to the per-day figures (docs/metrics.md).

A survey's figures (sent, delivery failed, its response by category) belong to the local day it
was sent, so a response rate over any range is a true ratio and a late answer updates the day
of its survey. A reply counts on the local day it was received, by outcome.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.common.nps import Category

UNIT_MEASURES = ("surveys_sent", "delivery_failed", "promoters", "passives", "detractors")
_MEASURE_OF: dict[Category, str] = {
    "promoter": "promoters",
    "passive": "passives",
    "detractor": "detractors",
}
UnitFigures = Counter[tuple[date, str, str, str]]  # (sent day, unit, service area, measure)
ReplyFigures = Counter[tuple[date, str, str]]  # (day, outcome, "replies")


@dataclass(frozen=True, slots=True)
class CountedSurvey:
    """What of a derived survey the figures count."""

    sent_day: date
    unit_id: str
    service_area: str
    delivered: bool
    category: Category | None


@dataclass(frozen=True, slots=True)
class CountedReply:
    day: date
    outcome: str


def unit_figures(surveys: Iterable[CountedSurvey]) -> UnitFigures:
    figures: UnitFigures = Counter()
    for s in surveys:
        key = (s.sent_day, s.unit_id, s.service_area)
        figures[(*key, "surveys_sent")] += 1
        if not s.delivered:
            figures[(*key, "delivery_failed")] += 1
        if s.category is not None:
            figures[(*key, _MEASURE_OF[s.category])] += 1
    return figures


def reply_figures(replies: Iterable[CountedReply]) -> ReplyFigures:
    return Counter((r.day, r.outcome, "replies") for r in replies)
