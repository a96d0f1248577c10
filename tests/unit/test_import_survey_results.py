"""A survey results export's rows as feedback events (services/importer), worked out by hand."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.common.events import Envelope
from services.importer.mapping import Mapping
from services.importer.rows import NAMESPACE, BadRow
from services.importer.survey_results import survey_events

pytestmark = pytest.mark.unit
HELSINKI = ZoneInfo("Europe/Helsinki")
KEY = "test-key"
MAPPING = Mapping(
    source="survey_results",
    name="wheelq-2025",
    time_format="%d.%m.%Y %H:%M",
    delimiter=";",
    columns={
        "survey_id": "Kysely",
        "sent": "Lähetetty",
        "unit": "Yksikkö",
        "service_area": "Palvelualue",
        "recipient": "Puhelin",
        "delivery_failed": "Ei toimitettu",
        "answered": "Vastattu",
        "score": "NPS",
        "comment": "Kommentti",
    },
    units={"Kouvolan terveysasema": "terveysasema-kouvola"},
    statements={"THL01": "Väittämä 1", "THL02": "Väittämä 2"},
)
ROW = {
    "Kysely": "s1",
    "Lähetetty": "4.11.2025 10:00",
    "Yksikkö": "Kouvolan terveysasema",
    "Palvelualue": "terveyspalvelut",
    "Puhelin": "040 123 4567",
    "Ei toimitettu": "",
    "Vastattu": "4.11.2025 10:07",
    "NPS": "9",
    "Väittämä 1": "5",
    "Väittämä 2": "",
    "Kommentti": "Hyvä palvelu, soittakaa 040 765 4321 tai maija@example.fi",
}


def at(clock: str) -> datetime:
    hour, minute = (int(p) for p in clock.split(":"))
    return datetime(2025, 11, 4, hour, minute, tzinfo=HELSINKI)


def data(event: Envelope) -> dict[str, Any]:
    fields: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)["data"]
    return fields


def test_an_answered_survey_hashed_and_redacted() -> None:
    events = survey_events(MAPPING, ROW, KEY)
    assert [(e.type, e.time) for e in events] == [
        ("survey.sent", at("10:00")),
        ("survey.answered", at("10:07")),
    ]
    number = hmac.new(KEY.encode(), b"+358401234567", hashlib.sha256).hexdigest()
    assert data(events[0]) == {
        "survey_id": "wheelq-2025:s1",
        "unit_id": "terveysasema-kouvola",
        "service_area": "terveyspalvelut",
        "recipient": number,
    }
    assert data(events[1]) == {
        "survey_id": "wheelq-2025:s1",
        "score": 9,
        "statements": {"THL01": 5},
        "comment": "Hyvä palvelu, soittakaa [puhelinnumero] tai [sähköposti]",
    }
    assert events[1].id == str(uuid.uuid5(NAMESPACE, "wheelq-2025|wheelq-2025:s1|survey.answered"))
    assert [e.id for e in survey_events(MAPPING, dict(ROW), KEY)] == [e.id for e in events]


def test_an_unanswered_survey_is_only_sent() -> None:
    row = ROW | {"Vastattu": "", "NPS": "", "Väittämä 1": "", "Kommentti": "", "Puhelin": ""}
    events = survey_events(MAPPING, row, KEY)
    assert [e.type for e in events] == ["survey.sent"]
    assert "recipient" not in data(events[0])


def test_a_survey_not_delivered() -> None:
    row = ROW | {"Ei toimitettu": "x", "Vastattu": "", "NPS": "", "Väittämä 1": "", "Kommentti": ""}
    events = survey_events(MAPPING, row, KEY)
    assert [(e.type, e.time) for e in events] == [
        ("survey.sent", at("10:00")),
        ("survey.delivery_failed", at("10:00")),
    ]
    assert data(events[1]) == {"survey_id": "wheelq-2025:s1"}


def test_statements_alone_are_an_answer_without_a_score() -> None:
    row = ROW | {"NPS": "", "Kommentti": "", "Väittämä 2": "2"}
    assert data(survey_events(MAPPING, row, KEY)[1]) == {
        "survey_id": "wheelq-2025:s1",
        "statements": {"THL01": 5, "THL02": 2},
    }


def test_recipients_that_are_ids_are_hashed_as_they_are() -> None:
    mapping = MAPPING.model_copy(update={"recipients": "id"})
    sent = survey_events(mapping, ROW | {"Puhelin": "asiakas-77"}, KEY)[0]
    assert data(sent)["recipient"] == hmac.new(KEY.encode(), b"asiakas-77", "sha256").hexdigest()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Kysely": ""}, "no survey id"),
        ({"Yksikkö": " "}, "no unit"),
        ({"Lähetetty": ""}, "a survey needs the time it was sent"),
        ({"Lähetetty": "4.11.2025"}, "sent: '4.11.2025' is not a time (%d.%m.%Y %H:%M)"),
        ({"NPS": "11"}, "score: '11' is not a whole number from 0 to 10"),
        ({"NPS": "9,5"}, "score: '9,5' is not a whole number from 0 to 10"),
        ({"Väittämä 2": "0"}, "statement THL02: '0' is not a whole number from 1 to 5"),
        ({"Vastattu": ""}, "an answer needs the time it was answered"),
        ({"Vastattu": "4.11.2025 9:59"}, "the times are not in order: sent ≤ answered"),
        ({"Ei toimitettu": "kyllä"}, "a survey that was not delivered has no answer"),
        ({"Puhelin": "12"}, "recipient: not a possible phone number"),
    ],
)
def test_a_bad_row_says_why(change: dict[str, str], reason: str) -> None:
    with pytest.raises(BadRow) as bad:
        survey_events(MAPPING, ROW | change, KEY)
    assert str(bad.value) == reason
