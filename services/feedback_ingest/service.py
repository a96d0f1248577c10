"""How feedback events change feedback_ingest's state (SPEC §3.3, §4).

Per batch: the surveys named by the batch are locked and routed to their subject (the recipient,
or the survey itself when it was sent without one); the subjects are locked; every touched
subject's facts are derived again (``matching.derive``) and the per-day figures get new - old.
The locks serialise instances that share a recipient across partitions: ``survey.sent`` and
``sms.received`` are keyed by recipient, ``survey.delivery_failed`` and ``survey.answered`` by
survey id.
"""

from __future__ import annotations

import calendar
import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.consumer import BackgroundTask, Consumed, periodic
from services.common.figures import difference, local_day
from services.common.registry import Registry
from services.feedback_ingest import exports, repository
from services.feedback_ingest.figures import (
    CountedReply,
    CountedSurvey,
    reply_figures,
    unit_figures,
)
from services.feedback_ingest.matching import (
    DEFAULT_WINDOW,
    DELIVERY_FAILED,
    SENT,
    FeedbackFact,
    Outcome,
    SurveyResult,
    answered_fact,
    derive,
    sms_fact,
)
from services.feedback_ingest.windows import UnitWindows, first_day, unit_windows

SURVEY_SUBJECT_PREFIX = "survey:"
log = logging.getLogger(__name__)


@dataclass
class _Pending:
    units: dict[tuple[date, str, str, str], int] = field(default_factory=dict)
    replies: dict[tuple[date, str, str], int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Retention:
    unmatched_days: int = 30
    comment_months: int = 24


class FeedbackIngest:
    def __init__(
        self, registry: Registry, tz: ZoneInfo, window: timedelta = DEFAULT_WINDOW
    ) -> None:
        self.registry = registry
        self.tz = tz
        self.window = window
        self.windows: dict[str, UnitWindows] = {}
        self._pending = _Pending()

    async def apply(self, conn: AsyncConnection, events: Sequence[Consumed]) -> None:
        facts = [to_fact(c.event) for c in events]
        sent = {
            f.survey_id: subject_of_sent(c.event)
            for c, f in zip(events, facts, strict=True)
            if f.type == SENT and f.survey_id is not None
        }
        others = {f.survey_id for f in facts if f.type != SENT and f.survey_id is not None}
        routes = await repository.route_surveys(conn, sent, others)
        rows = [
            (routes[f.survey_id] if f.survey_id is not None else c.event.data.recipient, f)
            for c, f in zip(events, facts, strict=True)
        ]
        subjects = {subject for subject, _ in rows if subject is not None}
        await repository.lock_subjects(conn, subjects)
        await repository.attach_pending(conn, {s: routes[s] or "" for s in sent})
        await repository.insert_facts(conn, rows)
        self._pending = await self._derive(conn, subjects)

    async def _derive(self, conn: AsyncConnection, subjects: Collection[str]) -> _Pending:
        stored = await repository.load_facts(conn, subjects)
        old_surveys, old_replies = await repository.load_counted(conn, subjects)
        outcomes = {s: derive(stored.get(s, ()), self.window) for s in subjects}
        new_surveys = [self._counted(r) for o in outcomes.values() for r in o.surveys]
        new_replies = [
            CountedReply(local_day(r.time, self.tz), r.outcome)
            for o in outcomes.values()
            for r in o.replies
        ]
        pending = _Pending(
            difference(unit_figures(new_surveys), unit_figures(old_surveys)),
            difference(reply_figures(new_replies), reply_figures(old_replies)),
        )
        await repository.add_figures(conn, pending.units, pending.replies)
        await repository.replace_derived(conn, subjects, self._rows(outcomes))
        await repository.suppress(
            conn,
            [
                (subject, o.opted_out_at, "sms_opt_out")
                for subject, o in outcomes.items()
                if o.opted_out_at is not None and not subject.startswith(SURVEY_SUBJECT_PREFIX)
            ],
        )
        return pending

    def _service_area(self, survey: SurveyResult) -> str:
        unit = self.registry.unit(survey.unit_id or "")
        return survey.service_area or (unit.service_area if unit else "")

    def _counted(self, s: SurveyResult) -> CountedSurvey:
        day = local_day(s.sent_at, self.tz)
        return CountedSurvey(day, s.unit_id or "", self._service_area(s), s.delivered, s.category)

    def _rows(self, outcomes: dict[str, Outcome]) -> dict[str, list[tuple[Any, ...]]]:
        surveys, replies, comments = [], [], []
        for subject, outcome in outcomes.items():
            for s in outcome.surveys:
                unit, area = s.unit_id or "", self._service_area(s)
                surveys.append(
                    (
                        s.survey_id,
                        subject,
                        unit,
                        area,
                        s.sent_at,
                        local_day(s.sent_at, self.tz),
                        s.delivered,
                        s.score,
                        s.category,
                        s.scored_at,
                        s.source,
                        json.dumps(s.statements) if s.statements else None,
                        s.opt_out_at,
                    )
                )
                comments += [
                    (
                        c.event_id,
                        subject,
                        s.survey_id,
                        unit,
                        area,
                        c.time,
                        self._day(c.time),
                        s.score,
                        c.text,
                    )
                    for c in s.comments
                ]
            replies += [
                (r.event_id, subject, r.time, self._day(r.time), r.outcome, r.survey_id, r.note)
                for r in outcome.replies
            ]
        return {
            "feedback_survey_results": surveys,
            "feedback_replies": replies,
            "feedback_comments": comments,
        }

    def _day(self, moment: datetime) -> date:
        return local_day(moment, self.tz)

    def committed(self, events: Sequence[Consumed]) -> None:
        pending, self._pending = self._pending, _Pending()
        exports.count(pending.units, pending.replies)

    async def restore(self, conn: AsyncConnection, partitions: Collection[int]) -> None:
        """No state per partition: everything is derived from Postgres."""

    def release(self, partitions: Collection[int]) -> None:
        """No state per partition."""

    async def refresh(self, engine: AsyncEngine) -> None:
        today = datetime.now(UTC).astimezone(self.tz).date()
        async with engine.connect() as conn:
            rows = await repository.unit_daily(conn, first_day(today), today)
        computed = unit_windows((tuple(r) for r in rows), today)
        self.windows = {u.id: UnitWindows() for u in self.registry.units} | computed

    def tasks(
        self, refresh_seconds: float, retention: Retention, retention_seconds: float
    ) -> tuple[BackgroundTask, ...]:
        async def purge(engine: AsyncEngine) -> None:
            unmatched, texts = await apply_retention(engine, retention, datetime.now(UTC))
            if unmatched or texts:
                log.info(
                    "retention: %d unmatched replies deleted, %d texts cleared", unmatched, texts
                )

        return (
            periodic(refresh_seconds, self.refresh, "feedback_ingest: NPS window refresh"),
            periodic(retention_seconds, purge, "feedback_ingest: retention"),
        )


async def apply_retention(
    engine: AsyncEngine, retention: Retention, now: datetime, subjects_per_round: int = 1000
) -> tuple[int, int]:
    """Purge unmatched replies and old texts, a bounded number of subjects per transaction.
    Returns (unmatched replies deleted, facts whose texts were cleared)."""
    unmatched_before = now - timedelta(days=retention.unmatched_days)
    texts_before = months_before(now, retention.comment_months)
    totals = [0, 0]
    for index, purge, before in (
        (0, repository.purge_unmatched, unmatched_before),
        (1, repository.purge_texts, texts_before),
    ):
        while True:
            async with engine.begin() as conn:
                done = await purge(conn, before, subjects_per_round)
            totals[index] += done
            if not done:
                break
    return totals[0], totals[1]


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day when
    that month is shorter)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return moment.replace(year=year, month=month + 1, day=min(moment.day, last_day))


def subject_of_sent(event: Any) -> str:
    return event.data.recipient or f"{SURVEY_SUBJECT_PREFIX}{event.data.survey_id}"


def to_fact(event: Any) -> FeedbackFact:
    data = event.data
    if event.type == SENT:
        return FeedbackFact(
            event.id,
            SENT,
            event.time,
            survey_id=data.survey_id,
            unit_id=data.unit_id,
            service_area=data.service_area,
            visit_channel=data.visit_channel,
        )
    if event.type == DELIVERY_FAILED:
        return FeedbackFact(
            event.id, DELIVERY_FAILED, event.time, survey_id=data.survey_id, reason=data.reason
        )
    if event.type == "survey.answered":
        statements = tuple(sorted(data.statements.items())) or None
        return answered_fact(
            event.id, event.time, data.survey_id, data.score, data.comment, statements
        )
    return sms_fact(event.id, event.time, data.text, data.message_id)
