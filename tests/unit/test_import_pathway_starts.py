"""A care-pathway export's rows as pathway events (services/importer), worked out by hand."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.common.events import Envelope
from services.importer.mapping import BadMapping, Mapping, load_mapping
from services.importer.pathway_starts import pathway_events
from services.importer.rows import NAMESPACE, BadRow

pytestmark = pytest.mark.unit
HELSINKI = ZoneInfo("Europe/Helsinki")
MAPPING = Mapping(
    source="pathway_starts",
    name="odalys-2025",
    time_format="%d.%m.%Y %H.%M",
    columns={
        "enrolment_id": "Tunnus",
        "pathway": "Polku",
        "unit": "Yksikkö",
        "started": "Aloitettu",
        "pathway_kind": "Tyyppi",
        "start_mode": "Aloittaja",
        "authenticated": "Tunnistettu",
        "completed": "Valmis",
        "discontinued": "Keskeytetty",
    },
    pathways={"Selkäkipu": "selkakipu"},
)
ROW = {
    "Tunnus": "e9",
    "Polku": "Selkäkipu",
    "Yksikkö": "fysioterapia-kouvola",
    "Aloitettu": "5.11.2025 14.30",
    "Tyyppi": "self_care",
    "Aloittaja": "self",
    "Tunnistettu": "kyllä",
    "Valmis": "",
    "Keskeytetty": "",
}


def data(event: Envelope) -> dict[str, Any]:
    fields: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)["data"]
    return fields


def test_a_start() -> None:
    (started,) = pathway_events(MAPPING, ROW)
    assert (started.type, started.time) == (
        "pathway.started",
        datetime(2025, 11, 5, 14, 30, tzinfo=HELSINKI),
    )
    assert data(started) == {
        "enrolment_id": "odalys-2025:e9",
        "pathway_id": "selkakipu",
        "unit_id": "fysioterapia-kouvola",
        "pathway_kind": "self_care",
        "start_mode": "self",
        "authenticated": True,
    }
    assert started.id == str(uuid.uuid5(NAMESPACE, "odalys-2025|odalys-2025:e9|pathway.started"))


def test_a_start_and_its_end() -> None:
    row = ROW | {"Valmis": "20.11.2025 8.00", "Tunnistettu": "ei", "Tyyppi": ""}
    events = pathway_events(MAPPING, row)
    assert [(e.type, e.time) for e in events] == [
        ("pathway.started", datetime(2025, 11, 5, 14, 30, tzinfo=HELSINKI)),
        ("pathway.completed", datetime(2025, 11, 20, 8, 0, tzinfo=HELSINKI)),
    ]
    assert data(events[0])["authenticated"] is False
    assert "pathway_kind" not in data(events[0])
    assert data(events[1]) == {"enrolment_id": "odalys-2025:e9"}
    dropped = pathway_events(MAPPING, ROW | {"Keskeytetty": "6.11.2025 9.00", "Yksikkö": ""})
    assert [e.type for e in dropped] == ["pathway.started", "pathway.discontinued"]
    assert "unit_id" not in data(dropped[0])  # a self-care pathway has no unit


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Tunnus": ""}, "no enrolment id"),
        ({"Polku": ""}, "no pathway"),
        ({"Aloitettu": ""}, "a start needs its time"),
        ({"Valmis": "1.11.2025 8.00"}, "the times are not in order: started ≤ completed"),
        (
            {"Valmis": "20.11.2025 8.00", "Keskeytetty": "6.11.2025 9.00"},
            "an enrolment ends once: completed or discontinued",
        ),
        (
            {"Tyyppi": "robot"},
            "pathway.started: invalid_value: pathway.started.data.pathway_kind: Input should be "
            "'professional', 'self_care' or 'hybrid'",
        ),
    ],
)
def test_a_bad_row_says_why(change: dict[str, str], reason: str) -> None:
    with pytest.raises(BadRow) as bad:
        pathway_events(MAPPING, ROW | change)
    assert str(bad.value) == reason


def test_each_source_names_its_own_fields(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("source: pathway_starts\nname: x\ncolumns: {enrolment_id: A}\n", "utf-8")
    with pytest.raises(BadMapping, match=r"the fields \['pathway', 'started'\] need a column"):
        load_mapping(path)
    path.write_text("source: pathway_starts\nname: x\ncolumns: {queue: A}\n", "utf-8")
    with pytest.raises(BadMapping, match=r"unknown fields \['queue'\]"):
        load_mapping(path)
    path.write_text("source: visit_log\nname: x\ncolumns: {}\n", "utf-8")
    known = "chat_log, survey_results, pathway_starts, contact_counts"
    with pytest.raises(BadMapping, match=f"unknown source 'visit_log'; known: {known}"):
        load_mapping(path)
