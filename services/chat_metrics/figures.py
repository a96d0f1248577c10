"""What a contact's story adds to the per-day figures of each queue (docs/metrics.md).

Entries count on the local day the visit entered, waits and outcomes on the day it left the
queue, handle times on the day the conversation closed. Sums of times are integer
milliseconds so that taking a story's old contribution back and adding the new one is exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

from services.chat_metrics.stories import Story, Visit
from services.common.figures import local_day

QUEUE_MEASURES = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "timed_out",
    "transferred_out",
    "answered_within_sl",
    "answered_wait_ms",
    "closed",
    "handle_ms",
    "resolved_true",
    "resolved_known",
    "bot_handovers",
)
BOT_MEASURES = ("sessions", "resolved")
QueueFigures = Counter[tuple[str, date, str]]
BotFigures = Counter[tuple[date, str]]


def queue_figures(visits: list[Visit], tz: ZoneInfo) -> QueueFigures:
    figures: QueueFigures = Counter()
    for visit in visits:
        _add_visit(figures, visit, tz)
    return figures


def _add_visit(figures: QueueFigures, visit: Visit, tz: ZoneInfo) -> None:
    queue = visit.queue_id
    entered = local_day(visit.entered_at, tz)
    figures[(queue, entered, "offered")] += 1
    if visit.via_bot:
        figures[(queue, entered, "bot_handovers")] += 1
    if visit.ended_at is None or visit.wait_ms is None:
        return
    ended, wait_ms = local_day(visit.ended_at, tz), visit.wait_ms
    if visit.outcome == "answered":
        figures[(queue, ended, "answered")] += 1
        figures[(queue, ended, "answered_wait_ms")] += wait_ms
        within = wait_ms <= visit.service_level_seconds * 1000
        figures[(queue, ended, "answered_within_sl")] += within
    elif visit.outcome == "abandoned":
        figures[(queue, ended, "abandoned")] += 1
        short = wait_ms < visit.short_abandon_seconds * 1000
        figures[(queue, ended, "short_abandoned")] += short
        figures[(queue, ended, "timed_out")] += visit.abandon_reason == "timeout"
    elif visit.outcome == "transferred":
        figures[(queue, ended, "transferred_out")] += 1
    if visit.closed_by == "closed" and visit.closed_at is not None:
        closed = local_day(visit.closed_at, tz)
        figures[(queue, closed, "closed")] += 1
        figures[(queue, closed, "handle_ms")] += visit.handle_ms or 0
        if visit.resolved is not None:
            figures[(queue, closed, "resolved_known")] += 1
            figures[(queue, closed, "resolved_true")] += visit.resolved


def bot_figures(stories: Iterable[Story], tz: ZoneInfo) -> BotFigures:
    figures: BotFigures = Counter()
    for story in stories:
        if story.entry == "bot" and story.started_at is not None:
            figures[(local_day(story.started_at, tz), "sessions")] += 1
        if story.bot_resolved_at is not None:
            figures[(local_day(story.bot_resolved_at, tz), "resolved")] += 1
    return figures
