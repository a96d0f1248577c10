"""Event validation (SPEC §3): what passes, what is rejected and with which reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.events import CHAT, CONTACT, FEEDBACK, PATHWAY, STREAMS, InvalidEvent, Stream

NOW = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
RECIPIENT = "a" * 64


def raw(event_type: str, data: dict[str, Any], **envelope: Any) -> bytes:
    body = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "test",
        "type": event_type,
        "time": "2025-11-03T08:15:02.123+02:00",
        "data": data,
    } | envelope
    return json.dumps(body).encode()


VALID = [
    (CHAT, "chat.started", {"contact_id": "c", "entry": "bot", "language": "sv"}),
    (CHAT, "chat.bot_resolved", {"contact_id": "c"}),
    (CHAT, "chat.queued", {"contact_id": "c", "queue_id": "q", "via_bot": True}),
    (CHAT, "chat.transferred", {"contact_id": "c", "from_queue_id": "a", "to_queue_id": "b"}),
    (CHAT, "chat.answered", {"contact_id": "c", "queue_id": "q", "agent_id": "a1"}),
    (CHAT, "chat.abandoned", {"contact_id": "c", "queue_id": "q", "reason": "timeout"}),
    (CHAT, "chat.closed", {"contact_id": "c", "resolved": None}),
    (CHAT, "agent.status", {"agent_id": "a", "status": "busy", "queue_ids": ["q"], "capacity": 3}),
    (
        PATHWAY,
        "pathway.started",
        {
            "enrolment_id": "e",
            "pathway_id": "astma",
            "pathway_kind": "self_care",
            "start_mode": "booking",
        },
    ),
    (PATHWAY, "pathway.task_completed", {"enrolment_id": "e", "task": "t1"}),
    (PATHWAY, "pathway.completed", {"enrolment_id": "e"}),
    (PATHWAY, "pathway.discontinued", {"enrolment_id": "e", "reason": "moved"}),
    (PATHWAY, "pathway.feedback", {"enrolment_id": "e", "thumb": "down"}),
    (
        FEEDBACK,
        "survey.sent",
        {"survey_id": "s", "unit_id": "u", "recipient": RECIPIENT, "visit_channel": "video"},
    ),
    (FEEDBACK, "survey.delivery_failed", {"survey_id": "s", "reason": "unknown number"}),
    (FEEDBACK, "sms.received", {"recipient": RECIPIENT, "text": "9 kiitos", "message_id": "m"}),
    (FEEDBACK, "survey.answered", {"survey_id": "s", "score": 10, "statements": {"Q1": 5}}),
    (
        CONTACT,
        "contact.recorded",
        {
            "contact_id": "c",
            "unit_id": "u",
            "channel": "e_service",
            "contact_mode_code": "R56",
            "age_band": "65-74",
        },
    ),
]


@pytest.mark.parametrize(("stream", "event_type", "data"), VALID)
def test_valid_events_pass_with_their_data(
    stream: Stream, event_type: str, data: dict[str, Any]
) -> None:
    event = stream.parse(raw(event_type, data), NOW, HOUR)
    assert event.type == event_type
    assert event.id == "e-1"
    assert event.time == datetime(2025, 11, 3, 6, 15, 2, 123000, tzinfo=UTC)
    assert {k: getattr(event.data, k) for k in data} == data


def test_unknown_fields_are_ignored_and_defaults_apply() -> None:
    event = CHAT.parse(
        raw("chat.queued", {"contact_id": "c", "queue_id": "q", "x": 1}, y=2), NOW, HOUR
    )
    assert event.data.via_bot is False
    assert event.data.unit_id is None
    assert not hasattr(event.data, "x")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_value"),
        (raw("chat.teleported", {"contact_id": "c"}), "unknown_type"),
        (raw("pathway.started", {"enrolment_id": "e", "pathway_id": "p"}), "unknown_type"),
        (raw("chat.queued", {"contact_id": "c"}), "missing_field"),
        (raw("chat.queued", {"contact_id": 7, "queue_id": "q"}), "invalid_value"),
        (
            raw("chat.queued", {"contact_id": "c", "queue_id": "q", "via_bot": "yes"}),
            "invalid_value",
        ),
        (
            raw("agent.status", {"agent_id": "a", "status": "available", "capacity": 0}),
            "invalid_value",
        ),
        (
            raw("chat.abandoned", {"contact_id": "c", "queue_id": "q", "reason": "bored"}),
            "invalid_value",
        ),
        (raw("chat.queued", {"contact_id": "", "queue_id": "q"}), "invalid_value"),
        (raw("chat.queued", {"contact_id": "c\u0000", "queue_id": "q"}), "invalid_value"),
        (
            raw(
                "chat.queued",
                {"contact_id": "c", "queue_id": "q"},
                time="0001-01-01T00:00:00+14:00",
            ),
            "time_out_of_range",
        ),
        (
            raw("chat.queued", {"contact_id": "c", "queue_id": "q"}, time="2025-11-03T08:15:02"),
            "invalid_value",
        ),
        (
            raw("chat.queued", {"contact_id": "c", "queue_id": "q"}, specversion="0.3"),
            "invalid_value",
        ),
        (
            raw(
                "chat.queued",
                {"contact_id": "c", "queue_id": "q"},
                time="2025-11-03T14:00:01+01:00",
            ),
            "time_in_future",
        ),
    ],
)
def test_bad_events_are_rejected_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        CHAT.parse(body, NOW, HOUR)
    assert caught.value.reason == reason
    assert caught.value.detail


def test_time_exactly_one_hour_ahead_is_accepted() -> None:
    body = raw(
        "chat.queued", {"contact_id": "c", "queue_id": "q"}, time="2025-11-03T14:00:00+01:00"
    )
    assert CHAT.parse(body, NOW, HOUR).time - NOW == HOUR


@pytest.mark.parametrize("recipient", ["+358401234567", "0401234567", "A" * 64, "a" * 63])
def test_a_recipient_in_clear_or_not_a_lowercase_hash_is_rejected(recipient: str) -> None:
    body = raw("sms.received", {"recipient": recipient, "text": "9"})
    with pytest.raises(InvalidEvent) as caught:
        FEEDBACK.parse(body, NOW, HOUR)
    assert caught.value.reason == "invalid_value"


def test_score_out_of_range_in_a_structured_answer_is_rejected() -> None:
    with pytest.raises(InvalidEvent):
        FEEDBACK.parse(raw("survey.answered", {"survey_id": "s", "score": 11}), NOW, HOUR)


@pytest.mark.parametrize(
    ("stream", "event_type", "data", "key"),
    [
        (CHAT, "chat.queued", {"contact_id": "c-1", "queue_id": "q"}, b"c-1"),
        (CHAT, "agent.status", {"agent_id": "a-9", "status": "away"}, b"a-9"),
        (PATHWAY, "pathway.completed", {"enrolment_id": "e-4"}, b"e-4"),
        (FEEDBACK, "sms.received", {"recipient": RECIPIENT, "text": "x"}, RECIPIENT.encode()),
        (FEEDBACK, "survey.sent", {"survey_id": "s-1", "unit_id": "u"}, b"s-1"),
        (
            FEEDBACK,
            "survey.sent",
            {"survey_id": "s-1", "unit_id": "u", "recipient": RECIPIENT},
            RECIPIENT.encode(),
        ),
        (
            CONTACT,
            "contact.recorded",
            {"contact_id": "k", "unit_id": "u", "channel": "phone"},
            b"k",
        ),
    ],
)
def test_keys_follow_spec(
    stream: Stream, event_type: str, data: dict[str, Any], key: bytes
) -> None:
    assert stream.key(stream.parse(raw(event_type, data), NOW, HOUR)) == key


def test_streams_and_topics() -> None:
    assert {name: s.topic for name, s in STREAMS.items()} == {
        "chat": "chat.events",
        "pathway": "pathway.events",
        "feedback": "feedback.events",
        "contact": "contact.events",
    }
    assert CHAT.dead_letter_topic == "chat.events.dlq"
