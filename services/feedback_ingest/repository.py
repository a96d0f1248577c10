"""SQL of feedback_ingest: routing and locks, facts, derived surveys/replies/comments, per-day
figures, suppressions, retention."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.history import Stories
from services.common.sql import BulkInsert, CountsTable, copy_rows, fetch
from services.feedback_ingest.figures import UNIT_MEASURES, CountedReply, CountedSurvey
from services.feedback_ingest.matching import FeedbackFact
from services.feedback_ingest.replies import Reply

STORIES = Stories(
    key="subject",
    facts="feedback_facts",
    derived=(
        "feedback_survey_results",
        "feedback_replies",
        "feedback_comments",
        "feedback_survey_subjects",
        "feedback_subjects",
    ),
    first_locked=("feedback_survey_subjects", "feedback_subjects"),
)
"""A recipient's (or a recipient-less survey's) facts and what was derived from them; the
suppressions stay (an opt-out is for good)."""

_FACT_COLUMNS = (
    "subject",
    "event_id",
    "type",
    "time",
    "survey_id",
    "unit_id",
    "service_area",
    "visit_channel",
    "text",
    "reply_outcome",
    "reply_score",
    "reply_comment",
    "reply_note",
    "message_id",
    "score",
    "comment",
    "statements",
    "reason",
)
_SUBJECT, _STATEMENTS, _REASON = (
    _FACT_COLUMNS.index(c) for c in ("subject", "statements", "reason")
)
# runs of columns in the order of FeedbackFact's fields: event_id .. text, the reading of an SMS
# (a Reply), message_id .. comment
_FIRST, _REPLY, _THEN = (
    slice(_FACT_COLUMNS.index(first), _FACT_COLUMNS.index(after))
    for first, after in (
        ("event_id", "reply_outcome"),
        ("reply_outcome", "message_id"),
        ("message_id", "statements"),
    )
)
SURVEY_RESULT_COLUMNS = (
    "survey_id",
    "subject",
    "unit_id",
    "service_area",
    "sent_at",
    "sent_day",
    "delivered",
    "score",
    "category",
    "scored_at",
    "source",
    "statements",
    "opt_out_at",
)
REPLY_COLUMNS = ("event_id", "subject", "time", "day", "outcome", "survey_id", "note")
COMMENT_COLUMNS = (
    "event_id",
    "subject",
    "survey_id",
    "unit_id",
    "service_area",
    "time",
    "day",
    "score",
    "text",
)
_DERIVED_TABLES = {
    "feedback_survey_results": SURVEY_RESULT_COLUMNS,
    "feedback_replies": REPLY_COLUMNS,
    "feedback_comments": COMMENT_COLUMNS,
}
_SENT_DAY, _UNIT, _AREA, _DELIVERED, _CATEGORY = (
    SURVEY_RESULT_COLUMNS.index(c)
    for c in ("sent_day", "unit_id", "service_area", "delivered", "category")
)
_DAY, _OUTCOME = (REPLY_COLUMNS.index(c) for c in ("day", "outcome"))
_UNIT_DAILY = CountsTable(
    "feedback_unit_daily",
    {"day": "date", "unit_id": "text", "service_area": "text"},
    UNIT_MEASURES,
)
_REPLY_DAILY = CountsTable("feedback_reply_daily", {"day": "date", "outcome": "text"}, ["replies"])
_SUPPRESS = BulkInsert(
    "feedback_suppressions",
    {"recipient": "text", "since": "timestamptz", "reason": "text"},
    "ON CONFLICT (recipient) DO UPDATE SET since = EXCLUDED.since, reason = EXCLUDED.reason "
    "WHERE EXCLUDED.since < feedback_suppressions.since",
)


async def route_surveys(
    conn: AsyncConnection, sent: Mapping[str, str], others: Collection[str]
) -> dict[str, str | None]:
    """Lock the rows of these surveys (sorted: no deadlocks) and say whose they are: the
    subject of the first survey.sent committed, None while none is. `sent` names the subject
    of each survey.sent in the batch."""
    ids = sorted(set(sent) | set(others))
    rows = await fetch(
        conn,
        "INSERT INTO feedback_survey_subjects (survey_id, subject) "
        "SELECT s, r FROM unnest($1::text[], $2::text[]) AS t(s, r) ORDER BY s "
        "ON CONFLICT (survey_id) DO UPDATE "
        "SET subject = COALESCE(feedback_survey_subjects.subject, EXCLUDED.subject) "
        "RETURNING survey_id, subject",
        ids,
        [sent.get(i) for i in ids],
    )
    return {row[0]: row[1] for row in rows}


async def lock_subjects(conn: AsyncConnection, subjects: Collection[str]) -> None:
    """Serialise the transactions deriving the same subjects (after the surveys' locks)."""
    await fetch(
        conn,
        "INSERT INTO feedback_subjects (subject) "
        "SELECT s FROM unnest($1::text[]) AS t(s) ORDER BY s "
        "ON CONFLICT (subject) DO UPDATE SET subject = EXCLUDED.subject",
        sorted(subjects),
    )


async def attach_pending(conn: AsyncConnection, subject_of: Mapping[str, str]) -> None:
    """Answers and failures that came before their survey.sent join the survey's subject."""
    await fetch(
        conn,
        "UPDATE feedback_facts f SET subject = m.subject "
        "FROM unnest($1::text[], $2::text[]) AS m(survey_id, subject) "
        "WHERE f.survey_id = m.survey_id AND f.subject IS NULL",
        list(subject_of),
        list(subject_of.values()),
    )


async def insert_facts(
    conn: AsyncConnection, facts: Sequence[tuple[str | None, FeedbackFact]]
) -> None:
    """Only events whose ids were claimed in this transaction come here: no conflicts."""
    await copy_rows(conn, "feedback_facts", _FACT_COLUMNS, [_fact_row(s, f) for s, f in facts])


def _fact_row(subject: str | None, f: FeedbackFact) -> tuple[Any, ...]:
    reply = f.reply
    if reply is None:
        outcome = score = comment = note = None
    else:
        outcome, score, comment, note = reply.outcome, reply.score, reply.comment, reply.note
    return (
        subject,
        f.event_id,
        f.type,
        f.time,
        f.survey_id,
        f.unit_id,
        f.service_area,
        f.visit_channel,
        f.text,
        outcome,
        score,
        comment,
        note,
        f.message_id,
        f.score,
        f.comment,
        None if f.statements is None else json.dumps(f.statements),
        f.reason,
    )


async def load_facts(
    conn: AsyncConnection, subjects: Collection[str]
) -> dict[str, list[FeedbackFact]]:
    rows = await fetch(
        conn,
        f"SELECT {', '.join(_FACT_COLUMNS)} FROM feedback_facts WHERE subject = ANY($1::text[])",
        list(subjects),
    )
    facts: dict[str, list[FeedbackFact]] = {}
    for r in rows:
        reply = None if r[_REPLY.start] is None else Reply(*r[_REPLY])
        statements = r[_STATEMENTS]
        if statements is not None:
            statements = tuple((code, value) for code, value in json.loads(statements))
        fields: tuple[Any, ...] = (*r[_FIRST], reply, *r[_THEN], statements, r[_REASON])
        facts.setdefault(r[_SUBJECT], []).append(FeedbackFact(*fields))
    return facts


DerivedRows = Mapping[str, Sequence[tuple[Any, ...]]]
"""Rows of the derived tables, per table, in the order of its columns (the key first)."""


async def load_derived(conn: AsyncConnection, subjects: Collection[str]) -> dict[str, list[Any]]:
    """The derived surveys, replies and comments of `subjects`, per table."""
    ids = list(subjects)
    return {
        table: await fetch(
            conn, f"SELECT {', '.join(columns)} FROM {table} WHERE subject = ANY($1::text[])", ids
        )
        for table, columns in _DERIVED_TABLES.items()
    }


def derived_changes(
    old: DerivedRows, new: DerivedRows
) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, list[tuple[Any, ...]]]]:
    """(gone, added) per table: the old rows that are not among the new ones as they are, and
    the new rows that are not among the old ones as they are. Deleting the gone and copying
    the added leaves what deleting all old rows and copying all new ones would."""
    gone: dict[str, list[tuple[Any, ...]]] = {}
    added: dict[str, list[tuple[Any, ...]]] = {}
    for table in _DERIVED_TABLES:
        before = {row[0]: tuple(row) for row in old.get(table, ())}
        rows = new.get(table, ())
        after = {row[0]: row for row in rows}
        gone[table] = [row for key, row in before.items() if after.get(key) != row]
        added[table] = [row for row in rows if before.get(row[0]) != row]
    return gone, added


def counted(rows: DerivedRows) -> tuple[list[CountedSurvey], list[CountedReply]]:
    """What the per-day figures count of these derived rows."""
    return (
        [
            CountedSurvey(r[_SENT_DAY], r[_UNIT], r[_AREA], r[_DELIVERED], r[_CATEGORY])
            for r in rows.get("feedback_survey_results", ())
        ],
        [CountedReply(r[_DAY], r[_OUTCOME]) for r in rows.get("feedback_replies", ())],
    )


async def replace_derived(conn: AsyncConnection, gone: DerivedRows, added: DerivedRows) -> None:
    """Delete the `gone` derived rows (by key), then copy the `added` ones."""
    for table, columns in _DERIVED_TABLES.items():
        keys = [row[0] for row in gone.get(table, ())]
        if keys:
            await fetch(conn, f"DELETE FROM {table} WHERE {columns[0]} = ANY($1::text[])", keys)
        await copy_rows(conn, table, columns, added.get(table, ()))


async def add_figures(
    conn: AsyncConnection,
    units: Mapping[tuple[date, str, str, str], int],
    replies: Mapping[tuple[date, str, str], int],
) -> None:
    await _UNIT_DAILY.add(conn, units)
    await _REPLY_DAILY.add(conn, replies)


async def suppress(conn: AsyncConnection, rows: Sequence[tuple[str, datetime, str]]) -> None:
    """(recipient, since, reason): the earliest suppression of a recipient is kept."""
    await _SUPPRESS.run(conn, rows)


async def unit_daily(conn: AsyncConnection, first: date, last: date) -> list[Any]:
    """(unit_id, day, surveys_sent, delivery_failed, promoters, passives, detractors), summed
    over service areas, for the days first..last."""
    return await fetch(
        conn,
        f"SELECT unit_id, day, {', '.join(f'sum({m})::bigint' for m in UNIT_MEASURES)} "
        "FROM feedback_unit_daily WHERE day BETWEEN $1 AND $2 GROUP BY unit_id, day",
        first,
        last,
    )


async def purge_unmatched(conn: AsyncConnection, before: datetime, limit: int) -> int:
    """Delete up to `limit` subjects' unmatched replies received before `before`: the fact
    and its derived row together, so the figures (which keep counting them) stay consistent."""
    subjects = await _subjects(
        conn,
        "SELECT DISTINCT subject FROM feedback_replies "
        "WHERE outcome = 'unmatched' AND time < $1 LIMIT $2",
        before,
        limit,
    )
    rows = await fetch(
        conn,
        "DELETE FROM feedback_replies WHERE outcome = 'unmatched' AND time < $1 "
        "AND subject = ANY($2::text[]) RETURNING event_id",
        before,
        subjects,
    )
    ids = [row[0] for row in rows]
    await fetch(conn, "DELETE FROM feedback_facts WHERE event_id = ANY($1::text[])", ids)
    return len(ids)


async def purge_texts(conn: AsyncConnection, before: datetime, limit: int) -> int:
    """Clear the (redacted) texts and comments of up to `limit` subjects' facts from before
    `before`, and their derived comments. Answers still waiting for their survey go too."""
    subjects = await _subjects(
        conn,
        "SELECT DISTINCT subject FROM feedback_facts "
        "WHERE (text IS NOT NULL OR comment IS NOT NULL) AND time < $1 LIMIT $2",
        before,
        limit,
    )
    cleared = await fetch(
        conn,
        "UPDATE feedback_facts SET text = NULL, comment = NULL, reply_comment = NULL "
        "WHERE (text IS NOT NULL OR comment IS NOT NULL) AND time < $1 "
        "AND (subject = ANY($2::text[]) OR subject IS NULL) RETURNING event_id",
        before,
        subjects,
    )
    await fetch(
        conn,
        "DELETE FROM feedback_comments WHERE time < $1 AND subject = ANY($2::text[])",
        before,
        subjects,
    )
    return len(cleared)


async def _subjects(conn: AsyncConnection, sql: str, *args: Any) -> list[str]:
    """The subjects a query names, locked (retention takes no survey locks: no deadlock)."""
    subjects = sorted({row[0] for row in await fetch(conn, sql, *args) if row[0] is not None})
    await lock_subjects(conn, subjects)
    return subjects
