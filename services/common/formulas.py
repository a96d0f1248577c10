"""Every ratio Kanava reports, defined once (docs/metrics.md).

Each figure is a ratio of exact counts, None when its denominator is 0. PostgreSQL computes the
same figures with the functions of migration 0010 (`kanava_service_level`, ...), which the views,
the gateway's queries and the dashboards call; tests/integration/test_formulas_sql.py proves the
SQL and these functions give the same floats. NPS and its interval live in `services.common.nps`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping


def ratio(part: int | float, whole: int | float) -> float | None:
    return part / whole if whole else None


def service_level(
    within_sl: int, answered: int, abandoned: int, short_abandoned: int
) -> float | None:
    """Answered within the queue's seconds / (answered + abandoned - short abandoned)."""
    return ratio(within_sl, answered + abandoned - short_abandoned)


def abandon_rate(answered: int, abandoned: int, short_abandoned: int) -> float | None:
    """(Abandoned - short abandoned) / (answered + abandoned - short abandoned)."""
    return ratio(abandoned - short_abandoned, answered + abandoned - short_abandoned)


def asa_seconds(answered_wait_ms: int, answered: int) -> float | None:
    """Average speed of answer: the mean wait of answered visits."""
    return ratio(answered_wait_ms / 1000, answered)


def aht_seconds(handle_ms: int, closed: int) -> float | None:
    """Average handle time: the mean time from answer to close of closed visits."""
    return ratio(handle_ms / 1000, closed)


def resolved_rate(resolved_true: int, resolved_known: int) -> float | None:
    """Visits closed as resolved / visits closed with a resolution given."""
    return ratio(resolved_true, resolved_known)


def response_rate(responses: int, surveys_sent: int, delivery_failed: int) -> float | None:
    """Responses / surveys delivered (sent - delivery failed)."""
    return ratio(responses, surveys_sent - delivery_failed)


def completion_rate(completions: int, discontinued: int) -> float | None:
    """Completions / enrolments that ended (completed or discontinued)."""
    return ratio(completions, completions + discontinued)


def thumbs_up_share(thumbs_up: int, thumbs_down: int) -> float | None:
    return ratio(thumbs_up, thumbs_up + thumbs_down)


def digital_contacts(by_channel: Mapping[str, int], digital: Collection[str]) -> int:
    return sum(n for channel, n in by_channel.items() if channel in digital)


def digital_share(by_channel: Mapping[str, int], digital: Collection[str]) -> float | None:
    """Contacts in the digital channels / all contacts."""
    return ratio(digital_contacts(by_channel, digital), sum(by_channel.values()))
