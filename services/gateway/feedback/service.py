"""The feedback endpoints' rows, built from the summed counts (docs/metrics.md, Feedback)."""

from __future__ import annotations

from services.common import formulas
from services.common.nps import Responses
from services.gateway.feedback.repository import Comment, Suppressed, SurveyCounts
from services.gateway.feedback.schemas import CommentOut, NpsFigures, NpsRow, Suppression
from services.gateway.sql import Sums


def nps_figures(c: SurveyCounts, min_responses: int) -> NpsFigures:
    """NPS and its interval, left out (`suppressed`) below `min_responses` responses."""
    responses = Responses(c.promoters, c.passives, c.detractors)
    shown = responses.count >= min_responses
    interval = responses.ci95() if shown else None
    return NpsFigures(
        surveys_sent=c.surveys_sent,
        delivery_failed=c.delivery_failed,
        responses=responses.count,
        promoters=c.promoters,
        passives=c.passives,
        detractors=c.detractors,
        nps=responses.nps if shown else None,
        ci95_lower=interval[0] if interval else None,
        ci95_upper=interval[1] if interval else None,
        response_rate=formulas.response_rate(responses.count, c.surveys_sent, c.delivery_failed),
        suppressed=not shown,
    )


def nps_row(row: Sums[SurveyCounts], min_responses: int, by_unit: bool) -> NpsRow:
    figures = nps_figures(row.counts, min_responses)
    return NpsRow(**dict(figures), period=row.period, unit_id=row.key if by_unit else None)


def too_few_responses(responses: dict[str, int], min_responses: int) -> list[str]:
    """The units whose comments are left out, in order."""
    return sorted(unit for unit, n in responses.items() if n < min_responses)


def comment_out(c: Comment) -> CommentOut:
    return CommentOut(
        date=c.day, unit_id=c.unit_id, service_area=c.service_area, score=c.score, text=c.text
    )


def suppression(recipient: str, found: Suppressed | None) -> Suppression:
    if found is None:
        return Suppression(recipient=recipient, suppressed=False, since=None, reason=None)
    return Suppression(recipient=recipient, suppressed=True, since=found.since, reason=found.reason)
