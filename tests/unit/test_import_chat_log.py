"""A chat log export's rows as chat events (services/importer), worked out by hand."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.common.events import ChatEvent
from services.importer.chat_log import NAMESPACE, BadRow, chat_events
from services.importer.mapping import BadMapping, Mapping, load_mapping

pytestmark = pytest.mark.unit
HELSINKI = ZoneInfo("Europe/Helsinki")
MAPPING = Mapping(
    source="chat_log",
    name="kaiku-2024",
    time_format="%d.%m.%Y %H.%M.%S",
    columns={
        "chat_id": "Tunnus",
        "queue": "Jono",
        "started": "Alkoi",
        "queued": "Jonoon",
        "answered": "Vastattu",
        "ended": "Päättyi",
        "abandoned": "Keskeytetty",
    },
    queues={"Terveysasema": "terveysasema-chat"},
)
ROW = {
    "Tunnus": "c17",
    "Jono": "Terveysasema",
    "Alkoi": "3.11.2024 8.00.00",
    "Jonoon": "3.11.2024 8.00.30",
    "Vastattu": "3.11.2024 8.02.00",
    "Päättyi": "3.11.2024 8.12.00",
    "Keskeytetty": "",
}


def at(clock: str) -> datetime:
    hour, minute, second = (int(p) for p in clock.split("."))
    return datetime(2024, 11, 3, hour, minute, second, tzinfo=HELSINKI)


def data(event: ChatEvent) -> dict[str, Any]:
    fields: dict[str, Any] = event.model_dump(mode="json")["data"]
    return fields


def test_an_answered_chat() -> None:
    events = chat_events(MAPPING, ROW)
    assert [(e.type, e.time, data(e)["contact_id"]) for e in events] == [
        ("chat.started", at("8.00.00"), "kaiku-2024:c17"),
        ("chat.queued", at("8.00.30"), "kaiku-2024:c17"),
        ("chat.answered", at("8.02.00"), "kaiku-2024:c17"),
        ("chat.closed", at("8.12.00"), "kaiku-2024:c17"),
    ]
    assert data(events[1])["queue_id"] == "terveysasema-chat"  # the export's name, mapped
    assert data(events[0])["entry"] == "queue"
    # the same row, the same ids: a re-import counts once
    assert events[2].id == str(uuid.uuid5(NAMESPACE, "kaiku-2024|kaiku-2024:c17|chat.answered"))
    assert [e.id for e in chat_events(MAPPING, dict(ROW))] == [e.id for e in events]


def test_an_abandoned_chat_and_an_unmapped_queue_name() -> None:
    row = ROW | {"Jono": "kuntoutus-chat", "Vastattu": "", "Keskeytetty": "Kyllä", "Alkoi": ""}
    events = chat_events(MAPPING, row)
    assert [(e.type, e.time) for e in events] == [
        ("chat.queued", at("8.00.30")),
        ("chat.abandoned", at("8.12.00")),
    ]
    assert data(events[1]) == {
        "contact_id": "kaiku-2024:c17",
        "queue_id": "kuntoutus-chat",
        "reason": "client_left",
    }


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Tunnus": " "}, "no chat id"),
        ({"Jonoon": ""}, "a chat needs the time it entered the queue and the time it ended"),
        ({"Vastattu": ""}, "a chat is either answered (with its time) or abandoned"),
        ({"Keskeytetty": "x"}, "a chat is either answered (with its time) or abandoned"),
        ({"Vastattu": "3.11.2024 8.20.00"}, "the times are not in order"),
        ({"Päättyi": "2024-11-03 08:12"}, "ended: '2024-11-03 08:12' is not a time"),
        ({"Tunnus": "x" * 300}, "chat.started: invalid_value"),
    ],
)
def test_a_bad_row_says_why(change: dict[str, str], reason: str) -> None:
    with pytest.raises(BadRow) as bad:
        chat_events(MAPPING, ROW | change)
    assert str(bad.value).startswith(reason)


def test_iso_times_with_an_offset_are_taken_as_they_are() -> None:
    mapping = MAPPING.model_copy(update={"time_format": None})
    row = ROW | {
        "Alkoi": "",
        "Jonoon": "2024-11-03T06:00:30Z",
        "Vastattu": "2024-11-03 08:02:00",  # no offset: local time
        "Päättyi": "2024-11-03T08:12:00+02:00",
    }
    events = chat_events(mapping, row)
    assert [e.time for e in events] == [at("8.00.30"), at("8.02.00"), at("8.12.00")]


def test_a_mapping_file_names_every_field_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("source: chat_log\nname: x\ncolumns: {chat_id: A, queue: B}\n", "utf-8")
    with pytest.raises(BadMapping, match=r"the fields \['queued', 'ended'\] need a column"):
        load_mapping(path)
    path.write_text("source: chat_log\nname: x\ncolumns: {agent: A}\n", "utf-8")
    with pytest.raises(BadMapping, match=r"unknown fields \['agent'\]"):
        load_mapping(path)
    path.write_text(
        "source: chat_log\nname: x\ntimezone: Mars/Olympus\n"
        "columns: {chat_id: A, queue: B, queued: C, ended: D}\n",
        "utf-8",
    )
    with pytest.raises(BadMapping, match="unknown time zone 'Mars/Olympus'"):
        load_mapping(path)
