"""A row of an SMS survey results export (one survey a row) as the feedback events of
docs/events.md.

A row has the survey's id, when it was sent and the unit; its service area, recipient,
whether it was delivered, and the answer (when answered, the NPS score 0 to 10, the national
model's statement answers 1 to 5, a comment) are optional. Its events: `survey.sent`, then
`survey.delivery_failed` (at the time sent) for a survey not delivered, or `survey.answered`
when it has a score, a statement answer or a comment. The recipient is hashed as every
producer hashes it and the comment redacted here, so neither leaves the importer in clear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.common.events import FEEDBACK, Envelope
from services.common.hashing import InvalidPhoneNumber, hash_identifier, hash_recipient
from services.common.redaction import redact
from services.importer.rows import BadRow, Row, Source, event, in_order, reader, time_of

if TYPE_CHECKING:
    from services.importer.mapping import Mapping

FIELDS = (
    "survey_id",
    "sent",
    "unit",
    "service_area",
    "recipient",
    "delivery_failed",
    "answered",
    "score",
    "comment",
)


def survey_events(mapping: Mapping, row: Row, key: str) -> list[Envelope]:
    """The row's events, in time order; BadRow says why there are none. `key` hashes the
    recipient (KANAVA_PHONE_HASH_KEY)."""
    field = reader(mapping, row)
    survey_id, unit = field("survey_id"), field("unit")
    if not survey_id:
        raise BadRow("no survey id")
    if not unit:
        raise BadRow("no unit")
    sent = time_of(mapping, "sent", field("sent"))
    if sent is None:
        raise BadRow("a survey needs the time it was sent")
    story = f"{mapping.name}:{survey_id}"
    sending = event(FEEDBACK, mapping, story, "survey.sent", sent, _sent(mapping, row, story, key))
    answer = _answer(mapping, row)
    if mapping.is_yes(field("delivery_failed")):
        if answer:
            raise BadRow("a survey that was not delivered has no answer")
        failed = event(
            FEEDBACK, mapping, story, "survey.delivery_failed", sent, {"survey_id": story}
        )
        return [sending, failed]
    if not answer:
        return [sending]
    answered = time_of(mapping, "answered", field("answered"))
    if answered is None:
        raise BadRow("an answer needs the time it was answered")
    in_order([sent, answered], "sent ≤ answered")
    data = {"survey_id": story, **answer}
    return [sending, event(FEEDBACK, mapping, story, "survey.answered", answered, data)]


def _sent(mapping: Mapping, row: Row, story: str, key: str) -> dict[str, Any]:
    field = reader(mapping, row)
    unit = field("unit")
    data: dict[str, Any] = {"survey_id": story, "unit_id": mapping.units.get(unit, unit)}
    if area := field("service_area"):
        data["service_area"] = area
    if recipient := field("recipient"):
        data["recipient"] = _hashed(mapping, recipient, key)
    return data


def _hashed(mapping: Mapping, recipient: str, key: str) -> str:
    if mapping.recipients == "id":
        return hash_identifier(recipient, key)
    try:
        return hash_recipient(recipient, key)
    except InvalidPhoneNumber as exc:
        raise BadRow(f"recipient: {exc}") from None  # the number itself stays out of the reason


def _answer(mapping: Mapping, row: Row) -> dict[str, Any]:
    """The answer's fields that the row has: score, statements, the comment redacted."""
    field = reader(mapping, row)
    answer: dict[str, Any] = {}
    if score := field("score"):
        answer["score"] = _number(f"score: {score!r}", score, 0, 10)
    statements = {
        code: _number(f"statement {code}: {text!r}", text, 1, 5)
        for code, column in mapping.statements.items()
        if (text := (row.get(column) or "").strip())
    }
    if statements:
        answer["statements"] = statements
    if comment := field("comment"):
        answer["comment"] = redact(comment).text
    return answer


def _number(what: str, text: str, low: int, high: int) -> int:
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise BadRow(f"{what} is not a whole number from {low} to {high}")
    return int(text)


SOURCE = Source("survey_results", FIELDS, ("survey_id", "sent", "unit"), FEEDBACK, survey_events)
