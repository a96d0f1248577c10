"""Feedback events for the benchmark: the simulated backlog with what it must add up to, and
new surveys at a steady pace."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bench.events import Backlog, Message, Timed, backlog, encoded, own_message
from services.common.events import FEEDBACK, SurveyDeliveryFailed, SurveySent
from services.common.nps import Category, category
from services.common.registry import Registry
from services.feedback_ingest.matching import ANSWERED, DELIVERY_FAILED, SENT, SMS_RECEIVED
from services.simulator.chat import type_name
from services.simulator.feedback import Intent, simulate_feedback_scored

SOURCE = "bench/feedback_ingest"


@dataclass
class Expected:
    """What the backlog must add up to, counted independently of the service."""

    types: Counter[str] = field(default_factory=Counter)
    """Events by type."""
    sent: set[str] = field(default_factory=set)
    """Survey ids of the backlog's survey.sent."""
    failed: set[str] = field(default_factory=set)
    intents: list[Intent] = field(default_factory=list)
    """The scores the simulator meant (first scoring SMS, scored web answer)."""

    @property
    def delivery_failed(self) -> int:
        """Failures of surveys sent in the backlog (the others never find their survey)."""
        return len(self.failed & self.sent)

    def responses(self) -> dict[str, Counter[Category]]:
        """Intended scores by unit and category, of surveys sent in the backlog (a reply in
        the first days may answer a survey sent before the backlog begins)."""
        by_unit: dict[str, Counter[Category]] = {}
        for intent in self.intents:
            if intent.survey_id in self.sent:
                by_unit.setdefault(intent.unit_id, Counter())[category(intent.score)] += 1
        return by_unit


def feedback_backlog(
    registry: Registry, tz: ZoneInfo, at_least: int, days: int, end: datetime
) -> tuple[Backlog, Expected]:
    """`simulate_feedback` of the registry, keyed as docs/events.md says; each seed hashes its
    recipients with its own key, so no two seeds share a recipient."""
    expected = Expected()

    def simulate(seed: int, start: datetime, end: datetime) -> Iterator[Timed]:
        key = f"bench-feedback-{seed}"
        for event, intent in simulate_feedback_scored(registry, start, end, seed, tz, key):
            expected.types[type_name(type(event))] += 1
            if isinstance(event, SurveySent):
                expected.sent.add(event.data.survey_id)
            elif isinstance(event, SurveyDeliveryFailed):
                expected.failed.add(event.data.survey_id)
            if intent is not None:
                expected.intents.append(intent)
            yield encoded(FEEDBACK, event)

    return backlog(simulate, at_least, days, end), expected


FOLLOW_UPS: tuple[tuple[int, str], ...] = ((2, DELIVERY_FAILED), (5, ANSWERED), (31, SMS_RECEIVED))
"""Of every 100 surveys: 2 fail, 3 are answered by the form, 26 get an SMS reply (about the
simulator's mix)."""


@dataclass(frozen=True)
class LiveSurveys:
    """New surveys at a steady pace, each to a new recipient and unit after unit; some get a
    follow-up (`FOLLOW_UPS`) `lag` surveys later."""

    prefix: str
    units: Sequence[tuple[str, str]]
    """(unit id, service area)."""
    lag: int = 3000

    def plan(self) -> Iterator[tuple[str, int]]:
        """(event type, survey number), endlessly."""
        step = 0
        while True:
            yield SENT, step
            if step >= self.lag:
                follow_up = self.follow_up(step - self.lag)
                if follow_up is not None:
                    yield follow_up, step - self.lag
            step += 1

    @staticmethod
    def follow_up(number: int) -> str | None:
        share = number % 100
        return next((kind for below, kind in FOLLOW_UPS if share < below), None)

    @staticmethod
    def events_per_survey() -> float:
        return 1 + FOLLOW_UPS[-1][0] / 100

    def message(self, kind: str, number: int, at: datetime) -> Message:
        recipient = hashlib.sha256(f"{self.prefix}-{number}".encode()).hexdigest()
        survey = f"{self.prefix}-survey-{number}"
        score = number % 11
        data: dict[str, Any]
        if kind == SENT:
            unit, area = self.units[number % len(self.units)]
            data = {"survey_id": survey, "unit_id": unit, "service_area": area}
            data |= {"recipient": recipient, "visit_channel": "in_person", "language": "fi"}
        elif kind == DELIVERY_FAILED:
            data = {"survey_id": survey, "reason": "unknown_number"}
        elif kind == ANSWERED:
            data = {"survey_id": survey, "score": score, "statements": {"THL01": 4}}
        else:
            message_id = f"{self.prefix}-sms-{number}"
            data = {"recipient": recipient, "text": f"{score} kiitos", "message_id": message_id}
        key = recipient if kind in (SENT, SMS_RECEIVED) else survey
        return own_message(SOURCE, kind, key, at, data)
