"""What one recipient's feedback events mean, derived from all of them (docs/events.md). Pure,
no I/O.

The derivation is a function of the SET of the recipient's facts: any order, any duplicates
(same ``event_id``), the same :class:`Outcome`. Facts are processed sorted by
(time, type order ``survey.sent`` < ``survey.delivery_failed`` < ``survey.answered`` <
``sms.received``, event id).

Rules:

- An SMS matches the newest survey sent at or before it and at most ``window`` before it that has
  no score yet; when every such survey has a score, the newest of them (the SMS becomes a comment
  there); with none in the window the reply is ``unmatched``.
- A survey whose delivery failed is never matched by an SMS (the client did not get it), but it
  counts as sent and a form answer naming it still applies.
- The first score by time wins, SMS or form. A scored SMS for a survey that already has a score
  is a comment: its whole text. Only the comment part of a scoring reply becomes a comment.
- An opt-out is honoured even with no survey in the window (outcome ``opt_out``, no survey).
- ``survey.delivery_failed`` and ``survey.answered`` for a survey id without ``survey.sent``
  among the facts stay pending, returned as ``orphans``.
- Two ``survey.sent`` for one survey id: the first one counts. Two ``sms.received`` with one
  ``message_id``: the first one counts (docs/events.md: deduplicated by message_id).
- Texts come redacted and SMS replies read (:func:`sms_fact`, :func:`answered_fact`): facts are
  stored that way, so raw text never reaches the database. Blank comments are dropped. Form
  statements are the first answer's that has any, sorted by code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from services.common.nps import Category, category
from services.common.redaction import redact
from services.feedback_ingest.replies import Reply, read_reply

ReplyOutcome = Literal["scored", "comment", "opt_out", "invalid", "unmatched"]
Source = Literal["sms", "form"]

SENT = "survey.sent"
DELIVERY_FAILED = "survey.delivery_failed"
ANSWERED = "survey.answered"
SMS_RECEIVED = "sms.received"
_ORDER = {SENT: 0, DELIVERY_FAILED: 1, ANSWERED: 2, SMS_RECEIVED: 3}
_SENT, _FAILED, _ANSWERED, _SMS = (
    _ORDER[t] for t in (SENT, DELIVERY_FAILED, ANSWERED, SMS_RECEIVED)
)
DEFAULT_WINDOW = timedelta(days=7)


class FeedbackFact(NamedTuple):
    """One stored feedback event of a recipient: the fields the derivation needs. (The records
    made per event are named tuples: a frozen dataclass's `__init__` sets each field through
    `object.__setattr__`, which was 6 % of feedback_ingest's profile.)"""

    event_id: str
    type: str
    time: datetime
    survey_id: str | None = None
    unit_id: str | None = None
    service_area: str | None = None
    visit_channel: str | None = None
    text: str | None = None  # redacted
    reply: Reply | None = None  # of an SMS, its comment redacted
    message_id: str | None = None
    score: int | None = None
    comment: str | None = None  # redacted
    statements: tuple[tuple[str, int], ...] | None = None
    reason: str | None = None


def sms_fact(event_id: str, time: datetime, text: str, message_id: str | None) -> FeedbackFact:
    """An ``sms.received`` as stored: read from the text as sent, then redacted."""
    read = _READ.get(text)
    if read is None:
        read = _read_sms(text)
    stored, reply = read
    return FeedbackFact(
        event_id, SMS_RECEIVED, time, text=stored, reply=reply, message_id=message_id
    )


_READ: dict[str, tuple[str, Reply]] = {}
"""Readings of SMS texts that hold nothing but what was read from them (a score, an opt-out
word, an out-of-range or ambiguous number): most replies are a few such texts (``9``,
``10!``, ``STOP``), and reading is the costliest part of an SMS. A text with a comment or
anything to redact is never kept, nor a long one, nor more than `_READ_MAX`."""
_READ_MAX = 10_000
_READ_LONGEST = 40


def _read_sms(text: str) -> tuple[str, Reply]:
    """(redacted text, reading with its comment redacted); kept in `_READ` where safe."""
    reply = read_reply(text)
    redacted = redact(text.strip())
    comment = None if reply.comment is None else _redacted(reply.comment)
    read = redacted.text, Reply(reply.outcome, reply.score, comment, reply.note)
    if (
        reply.comment is None
        and not any(redacted.counts.values())
        and len(text) <= _READ_LONGEST
        and len(_READ) < _READ_MAX
    ):
        _READ[text] = read
    return read


def answered_fact(
    event_id: str,
    time: datetime,
    survey_id: str,
    score: int | None,
    comment: str | None,
    statements: tuple[tuple[str, int], ...] | None,
) -> FeedbackFact:
    """A ``survey.answered`` as stored: its comment redacted."""
    return FeedbackFact(
        event_id,
        ANSWERED,
        time,
        survey_id=survey_id,
        score=score,
        comment=None if comment is None else _redacted(comment),
        statements=statements,
    )


def _redacted(text: str) -> str:
    return redact(text.strip()).text


class Comment(NamedTuple):
    time: datetime
    text: str  # redacted
    event_id: str


class SurveyResult(NamedTuple):
    survey_id: str
    unit_id: str | None
    service_area: str | None
    sent_at: datetime
    delivered: bool
    score: int | None
    scored_at: datetime | None
    category: Category | None
    source: Source | None
    comments: tuple[Comment, ...]
    statements: tuple[tuple[str, int], ...]
    opt_out_at: datetime | None


class ReplyResult(NamedTuple):
    """One ``sms.received``: the outcome counted by ``kanava_feedback_replies_total``."""

    event_id: str
    time: datetime
    outcome: ReplyOutcome
    survey_id: str | None
    note: str


@dataclass(frozen=True, slots=True)
class Outcome:
    surveys: tuple[SurveyResult, ...]  # by (sent_at, survey_id)
    replies: tuple[ReplyResult, ...]  # in processing order
    opted_out_at: datetime | None
    unmatched: tuple[ReplyResult, ...]
    orphans: tuple[FeedbackFact, ...]  # in processing order

    def survey(self, survey_id: str) -> SurveyResult:
        return next(s for s in self.surveys if s.survey_id == survey_id)


@dataclass(slots=True)
class _Survey:
    sent: FeedbackFact
    delivered: bool = True
    score: int | None = None
    scored_at: datetime | None = None
    source: Source | None = None
    comments: list[Comment] = field(default_factory=list)
    statements: tuple[tuple[str, int], ...] = ()
    opt_out_at: datetime | None = None

    def add_comment(self, text: str | None, fact: FeedbackFact) -> None:
        if text and text.strip():
            self.comments.append(Comment(fact.time, text.strip(), fact.event_id))

    def set_score(self, score: int, fact: FeedbackFact, source: Source) -> None:
        self.score, self.scored_at, self.source = score, fact.time, source

    def freeze(self) -> SurveyResult:
        sent = self.sent
        assert sent.survey_id is not None
        return SurveyResult(
            sent.survey_id,
            sent.unit_id,
            sent.service_area,
            sent.time,
            self.delivered,
            self.score,
            self.scored_at,
            None if self.score is None else category(self.score),
            self.source,
            tuple(self.comments),
            self.statements,
            self.opt_out_at,
        )


def derive(facts: Iterable[FeedbackFact], window: timedelta = DEFAULT_WINDOW) -> Outcome:
    """What the recipient's feedback facts mean; see the module docstring for the rules."""
    if isinstance(facts, list | tuple) and len(facts) == 1 and facts[0].type == SENT:
        return _sent_only(facts[0])  # the most common case by far: a survey just sent
    ordered = _in_order(facts)
    surveys = _surveys(ordered)
    reading = _Reading(surveys, window)
    for order, fact in ordered:
        reading.read(order, fact)
    frozen = [s.freeze() for s in surveys.values()]
    if len(frozen) > 1:
        frozen.sort(key=lambda s: (s.sent_at, s.survey_id))
    replies = reading.replies
    return Outcome(
        surveys=tuple(frozen),
        replies=tuple(replies),
        opted_out_at=reading.opted_out_at,
        unmatched=tuple(r for r in replies if r.outcome == "unmatched") if replies else (),
        orphans=tuple(reading.orphans),
    )


def _in_order(facts: Iterable[FeedbackFact]) -> list[tuple[int, FeedbackFact]]:
    """Each fact once, by time, then kind, then event id."""
    ordered: list[tuple[datetime, int, str, FeedbackFact]] = []
    for fact in {fact.event_id: fact for fact in facts}.values():
        order = _ORDER.get(fact.type)
        if order is None:
            raise ValueError(f"not a feedback fact type: {fact.type!r}")
        ordered.append((fact.time, order, fact.event_id, fact))
    ordered.sort()  # event ids are unique: facts themselves are never compared
    return [(order, fact) for _, order, _, fact in ordered]


def _surveys(ordered: list[tuple[int, FeedbackFact]]) -> dict[str, _Survey]:
    """The surveys sent, each marked undelivered if it failed: delivery failures are known
    up front, so a failed survey is never matched by an SMS."""
    surveys: dict[str, _Survey] = {}
    failed: list[str | None] = []
    for order, fact in ordered:
        if order == _SENT:
            if fact.survey_id is not None and fact.survey_id not in surveys:
                surveys[fact.survey_id] = _Survey(fact)
        elif order == _FAILED:
            failed.append(fact.survey_id)
    for survey_id in failed:
        if survey_id in surveys:
            surveys[survey_id].delivered = False
    return surveys


@dataclass(slots=True)
class _Reading:
    """The answers and SMS replies applied to the surveys, in order."""

    surveys: dict[str, _Survey]
    window: timedelta
    replies: list[ReplyResult] = field(default_factory=list)
    orphans: list[FeedbackFact] = field(default_factory=list)
    opted_out_at: datetime | None = None
    messages: set[str] = field(default_factory=set)

    def read(self, order: int, fact: FeedbackFact) -> None:
        if order == _SENT:
            return
        if order != _SMS and fact.survey_id not in self.surveys:
            self.orphans.append(fact)
        elif order == _ANSWERED:
            assert fact.survey_id is not None
            _answered(self.surveys[fact.survey_id], fact)
        elif order == _SMS and self._first_delivery(fact):
            reply = _sms(self.surveys.values(), fact, self.window)
            self.replies.append(reply)
            if reply.outcome == "opt_out" and self.opted_out_at is None:
                self.opted_out_at = fact.time

    def _first_delivery(self, fact: FeedbackFact) -> bool:
        """False for an SMS the operator delivered again under the same message id."""
        if fact.message_id is None:
            return True
        if fact.message_id in self.messages:
            return False
        self.messages.add(fact.message_id)
        return True


def _sent_only(fact: FeedbackFact) -> Outcome:
    """`derive` of one survey.sent alone."""
    surveys = () if fact.survey_id is None else (_Survey(fact).freeze(),)
    return Outcome(surveys, (), None, (), ())


def _answered(survey: _Survey, fact: FeedbackFact) -> None:
    if survey.score is None and fact.score is not None and 0 <= fact.score <= 10:
        survey.set_score(fact.score, fact, "form")
    survey.add_comment(fact.comment, fact)
    if not survey.statements and fact.statements:
        survey.statements = tuple(sorted(fact.statements))


def _sms(surveys: Iterable[_Survey], fact: FeedbackFact, window: timedelta) -> ReplyResult:
    text, reply = fact.text or "", fact.reply
    if reply is None:
        raise ValueError(f"SMS fact {fact.event_id} was stored without its reading")
    survey = _match(surveys, fact.time, window)
    if survey is None:
        outcome: ReplyOutcome = "opt_out" if reply.outcome == "opt_out" else "unmatched"
        return ReplyResult(fact.event_id, fact.time, outcome, None, reply.note)
    survey_id = survey.sent.survey_id
    if reply.outcome == "opt_out":
        if survey.opt_out_at is None:
            survey.opt_out_at = fact.time
        return ReplyResult(fact.event_id, fact.time, "opt_out", survey_id, reply.note)
    if reply.outcome == "scored" and survey.score is not None:
        survey.add_comment(text, fact)
        return ReplyResult(fact.event_id, fact.time, "comment", survey_id, "already_scored")
    if reply.outcome == "scored":
        assert reply.score is not None
        survey.set_score(reply.score, fact, "sms")
    survey.add_comment(reply.comment, fact)
    return ReplyResult(fact.event_id, fact.time, reply.outcome, survey_id, reply.note)


def _match(surveys: Iterable[_Survey], time: datetime, window: timedelta) -> _Survey | None:
    """The newest open survey in the window, else the newest in the window, else None."""
    earliest = time - window
    in_window = [s for s in surveys if s.delivered and earliest <= s.sent.time <= time]
    if len(in_window) > 1:
        in_window.sort(key=lambda s: (s.sent.time, s.sent.survey_id or ""), reverse=True)
    open_ = [s for s in in_window if s.score is None]
    return next(iter(open_ or in_window), None)
