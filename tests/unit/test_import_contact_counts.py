"""A monthly contact-count export's rows as `contact.month_counted` events (services/importer),
worked out by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.common.events import Envelope
from services.importer.contact_counts import combined, count_events
from services.importer.mapping import BadMapping, Mapping, load_mapping
from services.importer.rows import NAMESPACE, BadRow

pytestmark = pytest.mark.unit
MAPPING = Mapping(
    source="contact_counts",
    name="avohilmo-2024",
    month_format="%m/%Y",
    columns={
        "unit": "Yksikkö",
        "channel": "Yhteystapa",
        "month": "Kuukausi",
        "contacts": "Käyntejä",
        "service_area": "Palvelualue",
    },
    units={"Kotkan terveysasema": "ta-kotka"},
    channels={"Vastaanotto": "in_person", "Chat": "chat", "Chatbot": "chat"},
)
ROW = {
    "Yksikkö": "Kotkan terveysasema",
    "Yhteystapa": "Vastaanotto",
    "Kuukausi": "11/2024",
    "Käyntejä": "1 234",
    "Palvelualue": "",
}


def data(event: Envelope) -> dict[str, Any]:
    fields: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)["data"]
    return fields


def test_a_count() -> None:
    before = datetime.now(UTC)
    (counted,) = count_events(MAPPING, ROW)
    assert counted.type == "contact.month_counted"
    assert data(counted) == {
        "export": "avohilmo-2024",
        "unit_id": "ta-kotka",
        "channel": "in_person",
        "month": "2024-11",
        "contacts": 1234,
    }
    assert counted.id == str(
        uuid.uuid5(NAMESPACE, "avohilmo-2024|ta-kotka|in_person|2024-11|1234|contact.month_counted")
    )
    assert before <= counted.time <= datetime.now(UTC)  # counted at the import


def test_unmapped_names_are_used_as_they_are_and_a_service_area_is_kept() -> None:
    row = ROW | {"Yksikkö": "u7", "Yhteystapa": "video", "Käyntejä": "0", "Palvelualue": "sa2"}
    (counted,) = count_events(MAPPING, row)
    assert (data(counted)["unit_id"], data(counted)["channel"]) == ("u7", "video")
    assert (data(counted)["contacts"], data(counted)["service_area"]) == (0, "sa2")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Yksikkö": " "}, "no unit"),
        (
            {"Yhteystapa": "Kirje"},
            "channel 'Kirje' is none of Kanava's (in_person, home_visit, phone, video, chat, "
            "message, e_service, pathway, other): map it under channels",
        ),
        ({"Kuukausi": "2024-11"}, "month: '2024-11' is not a month (%m/%Y)"),
        ({"Kuukausi": ""}, "month: '' is not a month (%m/%Y)"),
        ({"Käyntejä": "12,5"}, "contacts: '12,5' is not a whole number ≥ 0"),
        ({"Käyntejä": "-3"}, "contacts: '-3' is not a whole number ≥ 0"),
        ({"Käyntejä": ""}, "contacts: '' is not a whole number ≥ 0"),
        ({"Käyntejä": "١٢"}, "contacts: '١٢' is not a whole number ≥ 0"),
        (
            {"Käyntejä": "1000000001"},
            "contact.month_counted: invalid_value: contact.month_counted.data.contacts: "
            "Input should be less than or equal to 1000000000",
        ),
    ],
)
def test_bad_rows(change: dict[str, str], reason: str) -> None:
    with pytest.raises(BadRow) as caught:
        count_events(MAPPING, ROW | change)
    assert str(caught.value) == reason


def test_the_counts_of_one_unit_channel_and_month_add_up() -> None:
    rows = [
        ROW | {"Yhteystapa": "Chat", "Käyntejä": "40"},
        ROW | {"Yhteystapa": "Vastaanotto", "Käyntejä": "100"},
        ROW | {"Yhteystapa": "Chatbot", "Käyntejä": "2"},
        ROW | {"Yhteystapa": "Chat", "Kuukausi": "12/2024", "Käyntejä": "7"},
    ]
    events = combined(MAPPING, [e for row in rows for e in count_events(MAPPING, row)])
    assert [(data(e)["channel"], data(e)["month"], data(e)["contacts"]) for e in events] == [
        ("chat", "2024-11", 42),
        ("in_person", "2024-11", 100),
        ("chat", "2024-12", 7),
    ]
    assert events[0].id == str(
        uuid.uuid5(NAMESPACE, "avohilmo-2024|ta-kotka|chat|2024-11|42|contact.month_counted")
    )
    assert len({e.time for e in events}) == 1


def test_a_channel_mapped_to_no_channel_of_kanava_is_a_bad_mapping(tmp_path: Path) -> None:
    path = tmp_path / "counts.yaml"
    path.write_text(
        "source: contact_counts\nname: x\n"
        "columns: {unit: U, channel: C, month: M, contacts: N}\n"
        "channels: {Chat: chatti}\n",
        encoding="utf-8",
    )
    with pytest.raises(BadMapping, match=r"not Kanava's channels: \['chatti'\]"):
        load_mapping(path)
