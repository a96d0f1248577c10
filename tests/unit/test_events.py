"""Event validation (docs/events.md): what passes, what is rejected and with which reason, in both
CloudEvents content modes of a Kafka record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cloudevents.core.bindings import kafka
from cloudevents.core.v1.event import CloudEvent
from cloudevents.v1 import kafka as legacy_kafka
from cloudevents.v1.http import CloudEvent as LegacyCloudEvent

from services.common.events import (
    CHAT,
    CONTACT,
    FEEDBACK,
    PATHWAY,
    STREAMS,
    ChatQueued,
    Envelope,
    InvalidEvent,
    Stream,
)

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
    (
        CONTACT,
        "contact.month_counted",
        {
            "export": "avohilmo-2024",
            "unit_id": "u",
            "channel": "in_person",
            "month": "2024-11",
            "contacts": 1234,
            "service_area": "sa1",
        },
    ),
]


@pytest.mark.parametrize(("stream", "event_type", "data"), VALID)
def test_valid_events_pass_with_their_data(
    stream: Stream[Envelope], event_type: str, data: dict[str, Any]
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
    assert isinstance(event, ChatQueued)
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


COUNTED = {"export": "x", "unit_id": "u", "channel": "chat", "month": "2024-01", "contacts": 5}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"month": "2024-13"}, "invalid_value"),
        ({"month": "2024-1"}, "invalid_value"),
        ({"month": "2024-01-01"}, "invalid_value"),
        ({"contacts": -1}, "invalid_value"),
        ({"contacts": 5.0}, "invalid_value"),
        ({"contacts": "5"}, "invalid_value"),
        ({"contacts": 1_000_000_001}, "invalid_value"),
        ({"channel": "Chat"}, "invalid_value"),
        ({"export": ""}, "invalid_value"),
        ({"month": None}, "invalid_value"),
        ({"contacts": ...}, "missing_field"),
        ({"export": ...}, "missing_field"),
    ],
)
def test_bad_month_counts_are_rejected_with_a_reason(change: dict[str, Any], reason: str) -> None:
    data = {k: v for k, v in (COUNTED | change).items() if v is not ...}
    with pytest.raises(InvalidEvent) as caught:
        CONTACT.parse(raw("contact.month_counted", data), NOW, HOUR)
    assert caught.value.reason == reason
    assert caught.value.detail.startswith(f"contact.month_counted.data.{next(iter(change))}:")


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
        (
            CONTACT,
            "contact.month_counted",
            {"export": "x", "unit_id": "u-7", "channel": "chat", "month": "2024-01", "contacts": 0},
            b"u-7",
        ),
    ],
)
def test_keys_follow_spec(
    stream: Stream[Envelope], event_type: str, data: dict[str, Any], key: bytes
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


# --- Kafka records: structured and binary content mode ------------------------------------

Headers = list[tuple[str, bytes | None]]
QUEUED = {"contact_id": "c", "queue_id": "q"}


def binary(
    event_type: str = "chat.queued",
    data: dict[str, Any] | None = None,
    content_type: Any = "application/json",
    **attributes: Any,
) -> tuple[bytes, Headers]:
    """A binary-mode record: the attributes in ce_* headers, the data alone in the value;
    an attribute given as ... is left out."""
    values = {
        "ce_specversion": "1.0",
        "ce_id": "e-1",
        "ce_source": "test",
        "ce_type": event_type,
        "ce_time": "2025-11-03T08:15:02.123+02:00",
        "content-type": content_type,
    } | attributes
    headers: Headers = [
        (name, value if value is None or isinstance(value, bytes) else value.encode())
        for name, value in values.items()
        if value is not ...
    ]
    return json.dumps(QUEUED if data is None else data).encode(), headers


@pytest.mark.parametrize(("stream", "event_type", "data"), VALID)
def test_a_binary_record_gives_the_event_its_structured_twin_gives(
    stream: Stream[Envelope], event_type: str, data: dict[str, Any]
) -> None:
    value, headers = binary(event_type, data)
    from_binary = stream.parse_record(value, headers, NOW, HOUR)
    from_structured = stream.parse_record(raw(event_type, data), [], NOW, HOUR)
    assert from_binary == from_structured.model_copy(update={"datacontenttype": "application/json"})


def test_records_made_by_the_cloudevents_sdk_parse_in_both_modes() -> None:
    event = CloudEvent(
        attributes={
            "type": "chat.queued",
            "source": "/kela/chat",
            "id": "sdk-1",
            "time": NOW - HOUR,
            "datacontenttype": "application/json",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        },
        data=QUEUED,
    )
    parsed = []
    for message in (kafka.to_binary_event(event), kafka.to_structured_event(event)):
        headers = list(message.headers.items())
        parsed.append(CHAT.parse_record(message.value, headers, NOW, HOUR))
    assert parsed[0] == parsed[1]
    assert (parsed[0].id, parsed[0].source, parsed[0].time) == ("sdk-1", "/kela/chat", NOW - HOUR)


def test_the_legacy_sdk_api_in_both_modes() -> None:
    event = LegacyCloudEvent(
        {
            "type": "contact.recorded",
            "source": "test",
            "id": "legacy-1",
            "time": (NOW - HOUR).isoformat(),
            "datacontenttype": "application/json",
        },
        {"contact_id": "k", "unit_id": "u", "channel": "video"},
    )
    parsed = []
    for message in (legacy_kafka.to_binary(event), legacy_kafka.to_structured(event)):
        assert isinstance(message.value, bytes)
        parsed.append(CONTACT.parse_record(message.value, list(message.headers.items()), NOW, HOUR))
    assert [p.id for p in parsed] == ["legacy-1", "legacy-1"]
    assert parsed[0].data == parsed[1].data


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("trace", b"t1")],
        [("content-type", b"application/cloudevents+json; charset=utf-8")],
        [("content-type", b"application/json")],  # what the legacy SDK sends in structured mode
        [("ce_id", b"other"), ("ce_type", b"x")],  # no ce_specversion: not binary
        [("ce_specversion", b"1.0"), ("content-type", b"Application/CloudEvents+JSON")],
    ],
)
def test_a_record_without_ce_specversion_or_with_a_cloudevents_format_is_structured(
    headers: Headers,
) -> None:
    event = CHAT.parse_record(raw("chat.queued", QUEUED), headers, NOW, HOUR)
    assert (event.id, event.type) == ("e-1", "chat.queued")


@pytest.mark.parametrize(
    "content_type",
    [..., "application/json; charset=utf-8", "Application/JSON", "application/vnd.kela+json"],
)
def test_binary_data_may_be_any_json_media_type_or_none(content_type: Any) -> None:
    value, headers = binary(content_type=content_type)
    event = CHAT.parse_record(value, headers, NOW, HOUR)
    assert isinstance(event, ChatQueued)
    assert event.data.queue_id == "q"


def test_binary_header_names_are_case_insensitive_and_extensions_are_ignored() -> None:
    value, headers = binary(ce_traceparent="00-abc-def-01", ce_partitionkey="c")
    shouted = [(name.upper(), header) for name, header in headers]
    assert CHAT.parse_record(value, shouted, NOW, HOUR).id == "e-1"


BAD_RECORDS = [
    ("id not UTF-8", binary(ce_id=b"\xff\xfe"), "invalid_header"),
    ("id null", binary(ce_id=None), "invalid_header"),
    ("source twice", (binary()[0], [*binary()[1], ("ce_source", b"other")]), "invalid_header"),
    ("extension not UTF-8", binary(ce_traceparent=b"\xc3"), "invalid_header"),
    ("content-type not UTF-8", binary(content_type=b"\xff"), "invalid_header"),
    ("no ce_id", binary(ce_id=...), "missing_field"),
    ("no ce_source", binary(ce_source=...), "missing_field"),
    ("no ce_time", binary(ce_time=...), "missing_field"),
    ("no ce_type", binary(ce_type=...), "unknown_type"),
    ("unknown ce_type", binary("chat.teleported"), "unknown_type"),
    ("specversion 0.3", binary(ce_specversion="0.3"), "invalid_value"),
    ("time without zone", binary(ce_time="2025-11-03T08:15:02"), "invalid_value"),
    ("time in the future", binary(ce_time="2025-11-03T14:00:01+01:00"), "time_in_future"),
    ("time before 2000", binary(ce_time="1999-12-31T23:00:00Z"), "time_out_of_range"),
    ("NUL in a header", binary(ce_source="a\u0000"), "invalid_value"),
    ("text data", binary(content_type="text/plain"), "unsupported_content_type"),
    ("avro data", binary(content_type="application/avro"), "unsupported_content_type"),
    (
        "avro event format",
        (raw("chat.queued", QUEUED), [("content-type", b"application/cloudevents+avro")]),
        "unsupported_content_type",
    ),
    (
        "batch of events",
        (b"[]", [("content-type", b"application/cloudevents-batch+json")]),
        "unsupported_content_type",
    ),
    ("data not JSON", (b"contact_id=c", binary()[1]), "invalid_json"),
    ("data with a trailing key", (b'{"contact_id": "c"}, "id": "x"', binary()[1]), "invalid_json"),
    ("no data", (b"", binary()[1]), "missing_field"),
    ("data lacks a field", binary(data={"contact_id": "c"}), "missing_field"),
    ("data of the wrong type", binary(data={"contact_id": 5, "queue_id": "q"}), "invalid_value"),
    ("empty structured", (b"", []), "invalid_json"),
    ("null structured", (None, [("trace", b"t")]), "invalid_json"),
]


@pytest.mark.parametrize(
    ("record", "reason"),
    [pytest.param(record, reason, id=name) for name, record, reason in BAD_RECORDS],
)
def test_bad_records_are_rejected_with_a_reason(
    record: tuple[bytes | None, Headers], reason: str
) -> None:
    value, headers = record
    with pytest.raises(InvalidEvent) as caught:
        CHAT.parse_record(value, headers, NOW, HOUR)
    assert caught.value.reason == reason
    assert caught.value.detail


def test_header_reasons_name_the_header_and_never_its_value() -> None:
    with pytest.raises(InvalidEvent) as caught:
        CHAT.parse_record(*binary(ce_id=b"secret\xff"), NOW, HOUR)
    assert caught.value.detail == "header ce_id is not UTF-8"
    with pytest.raises(InvalidEvent) as caught:
        CHAT.parse_record(*binary(content_type="text/plain"), NOW, HOUR)
    assert caught.value.detail == "content-type text/plain: the data must be JSON"
