"""How feedback events change feedback_ingest's state (docs/events.md, docs/metrics.md).

Per batch: the surveys named by the batch are locked and routed to their subject (the recipient,
or the survey itself when it was sent without one); the subjects are locked; every touched
subject's facts are derived again (``matching.derive``); the derived rows that changed replace
the old ones and the per-day figures get new - old. The locks serialise instances that share a
recipient across partitions: ``survey.sent`` and ``sms.received`` are keyed by recipient,
``survey.delivery_failed`` and ``survey.answered`` by survey id.

While PostgreSQL runs a statement the Python work that does not wait for it goes on
(``_meanwhile``): texts are read while the surveys are routed and the subjects locked, the
subjects derived while the batch's facts are stored, the figures counted while the derived rows
are written. The statements still run one at a time on the batch's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.consumer import BackgroundTask, Consumed, Domain, periodic
from services.common.events import (
    EARLIEST,
    FeedbackEvent,
    SmsReceived,
    SurveyAnswered,
    SurveyDeliveryFailed,
    SurveySent,
)
from services.common.figures import difference, local_day
from services.common.months import months_before
from services.common.registry import Registry
from services.feedback_ingest import exports, repository
from services.feedback_ingest.figures import reply_figures, unit_figures
from services.feedback_ingest.matching import (
    DEFAULT_WINDOW,
    DELIVERY_FAILED,
    SENT,
    FeedbackFact,
    Outcome,
    answered_fact,
    derive,
    sms_fact,
)
from services.feedback_ingest.repository import DerivedRows
from services.feedback_ingest.windows import UnitWindows, unit_windows

SURVEY_SUBJECT_PREFIX = "survey:"
T = TypeVar("T")
W = TypeVar("W")
_YIELD_EVERY = 128
"""Events read, or subjects derived, between two turns of the event loop."""
log = logging.getLogger(__name__)


@dataclass
class Changes:
    """What a batch changed in the per-day figures, for the exports once its transaction
    commits."""

    units: dict[tuple[date, str, str, str], int] = field(default_factory=dict)
    replies: dict[tuple[date, str, str], int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Retention:
    unmatched_days: int = 30
    comment_months: int = 24


class FeedbackIngest(Domain[FeedbackEvent, Changes]):
    def __init__(
        self, registry: Registry, tz: ZoneInfo, window: timedelta = DEFAULT_WINDOW
    ) -> None:
        self.registry = registry
        self.tz = tz
        self.window = window
        self.windows: dict[str, UnitWindows] = {}
        # service area of each unit id (the first unit of an id, as `Registry.unit` finds it)
        self._areas = {u.id: u.service_area for u in reversed(registry.units)}

    async def apply(
        self, conn: AsyncConnection, events: Sequence[Consumed[FeedbackEvent]]
    ) -> Changes:
        sent: dict[str, str] = {}
        others: set[str] = set()
        for consumed in events:
            match consumed.event:
                case SurveySent() as event:
                    sent[event.data.survey_id] = subject_of_sent(event)
                case SurveyDeliveryFailed(data=data) | SurveyAnswered(data=data):
                    others.add(data.survey_id)
        # PostgreSQL routes the surveys, locks the subjects and reads the facts stored for
        # them while the texts are read and redacted; this batch's facts join those
        (owners, subjects, known), facts = await _meanwhile(
            _route_and_lock(conn, events, sent, others), _facts(events)
        )
        rows = list(zip(owners, facts, strict=True))
        for subject, fact in rows:
            if subject is not None:
                known.setdefault(subject, []).append(fact)
        # PostgreSQL stores this batch's facts and reads what was derived for the subjects
        # while they are derived again
        old, (outcomes, new) = await _meanwhile(
            _store_facts_and_load_derived(conn, rows, subjects), self._derive(subjects, known)
        )
        # only what changed is written (and counted: rows that stay as they were would add and
        # take back the same); PostgreSQL writes it while the figures are counted
        gone, added = repository.derived_changes(old, new)
        _, changes = await _meanwhile(
            repository.replace_derived(conn, gone, added), _figures(gone, added)
        )
        await repository.add_figures(conn, changes.units, changes.replies)
        await repository.suppress(
            conn,
            [
                (subject, o.opted_out_at, "sms_opt_out")
                for subject, o in outcomes.items()
                if o.opted_out_at is not None and not subject.startswith(SURVEY_SUBJECT_PREFIX)
            ],
        )
        return changes

    async def _derive(
        self, subjects: Collection[str], facts: dict[str, list[FeedbackFact]]
    ) -> tuple[dict[str, Outcome], dict[str, list[tuple[Any, ...]]]]:
        """Derive the subjects again from all their facts, letting the event loop run now and
        then (the database works meanwhile); their outcomes and derived rows."""
        outcomes: dict[str, Outcome] = {}
        for count, subject in enumerate(subjects, 1):
            outcomes[subject] = derive(facts.get(subject, ()), self.window)
            if count % _YIELD_EVERY == 0:
                await asyncio.sleep(0)
        return outcomes, self._rows(outcomes)

    def _rows(self, outcomes: dict[str, Outcome]) -> dict[str, list[tuple[Any, ...]]]:
        """The derived rows per table (columns as `repository` names them)."""
        surveys: list[tuple[Any, ...]] = []
        replies: list[tuple[Any, ...]] = []
        comments: list[tuple[Any, ...]] = []
        tz, areas = self.tz, self._areas
        for subject, outcome in outcomes.items():
            for s in outcome.surveys:
                # a survey sent without its service area is counted under its unit's
                unit = s.unit_id or ""
                area = s.service_area or areas.get(unit, "")
                day = local_day(s.sent_at, tz)
                surveys.append(
                    (
                        s.survey_id,
                        subject,
                        unit,
                        area,
                        s.sent_at,
                        day,
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
                        local_day(c.time, tz),
                        s.score,
                        c.text,
                    )
                    for c in s.comments
                ]
            replies += [
                (r.event_id, subject, r.time, local_day(r.time, tz), r.outcome, r.survey_id, r.note)
                for r in outcome.replies
            ]
        return {
            "feedback_survey_results": surveys,
            "feedback_replies": replies,
            "feedback_comments": comments,
        }

    def committed(self, changes: Changes) -> None:
        exports.count(changes.units, changes.replies)

    async def refresh(self, engine: AsyncEngine) -> None:
        today = datetime.now(UTC).astimezone(self.tz).date()
        async with engine.connect() as conn:
            # the detector reads each unit's whole history (docs/nps-drop.md)
            rows = await repository.unit_daily(conn, EARLIEST.date(), today)
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


async def _meanwhile(queries: Awaitable[T], work: Awaitable[W]) -> tuple[T, W]:
    """`work` (Python, no database) done while PostgreSQL runs `queries` on the connection:
    the first query is sent before the work starts; the others go whenever the work lets the
    event loop run."""
    running = asyncio.ensure_future(queries)
    await asyncio.sleep(0)  # the task sends the first query
    try:
        done = await work
    except BaseException:
        # the connection must be free again before the error rolls the transaction back
        with contextlib.suppress(Exception):
            await running
        raise
    return await running, done


async def _facts(events: Sequence[Consumed[FeedbackEvent]]) -> list[FeedbackFact]:
    """The events as facts, letting the event loop run now and then."""
    facts = []
    for count, consumed in enumerate(events, 1):
        facts.append(to_fact(consumed.event))
        if count % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
    return facts


async def _route_and_lock(
    conn: AsyncConnection,
    events: Sequence[Consumed[FeedbackEvent]],
    sent: dict[str, str],
    others: set[str],
) -> tuple[list[str | None], set[str], dict[str, list[FeedbackFact]]]:
    """Route and lock the surveys, lock the subjects of the events, attach the facts that
    waited for a survey.sent of the batch; (the subject of each event, the subjects, their
    stored facts)."""
    routes = await repository.route_surveys(conn, sent, others)
    owners = [subject_of(c.event, routes) for c in events]
    subjects = {s for s in owners if s is not None}
    await repository.lock_subjects(conn, subjects)
    await repository.attach_pending(conn, {s: routes[s] or "" for s in sent})
    return owners, subjects, await repository.load_facts(conn, subjects)


async def _figures(gone: DerivedRows, added: DerivedRows) -> Changes:
    """What replacing the `gone` derived rows with the `added` ones changes in the per-day
    figures, letting the event loop run between the steps."""
    counted = []
    for rows in (gone, added):
        counted.append(repository.counted(rows))
        await asyncio.sleep(0)
    (old_surveys, old_replies), (new_surveys, new_replies) = counted
    units = difference(unit_figures(new_surveys), unit_figures(old_surveys))
    await asyncio.sleep(0)
    return Changes(units, difference(reply_figures(new_replies), reply_figures(old_replies)))


def subject_of(event: FeedbackEvent, routes: dict[str, str | None]) -> str | None:
    """Whose the event is: the recipient of an SMS, the subject its survey is routed to (None
    while no survey.sent is known)."""
    match event:
        case SmsReceived(data=data):
            return data.recipient
        case SurveySent(data=data) | SurveyDeliveryFailed(data=data) | SurveyAnswered(data=data):
            return routes[data.survey_id]


async def _store_facts_and_load_derived(
    conn: AsyncConnection,
    rows: Sequence[tuple[str | None, FeedbackFact]],
    subjects: Collection[str],
) -> dict[str, list[Any]]:
    await repository.insert_facts(conn, rows)
    return await repository.load_derived(conn, subjects)


def subject_of_sent(event: SurveySent) -> str:
    return event.data.recipient or f"{SURVEY_SUBJECT_PREFIX}{event.data.survey_id}"


def to_fact(event: FeedbackEvent) -> FeedbackFact:
    match event:
        case SurveySent(data=data):
            return FeedbackFact(
                event.id,
                SENT,
                event.time,
                survey_id=data.survey_id,
                unit_id=data.unit_id,
                service_area=data.service_area,
                visit_channel=data.visit_channel,
            )
        case SurveyDeliveryFailed(data=data):
            return FeedbackFact(
                event.id, DELIVERY_FAILED, event.time, survey_id=data.survey_id, reason=data.reason
            )
        case SurveyAnswered(data=data):
            statements = tuple(sorted(data.statements.items())) or None
            return answered_fact(
                event.id, event.time, data.survey_id, data.score, data.comment, statements
            )
        case SmsReceived(data=data):
            return sms_fact(event.id, event.time, data.text, data.message_id)
