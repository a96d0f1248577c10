"""The registry file: loading, opening hours in local time, clear errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.common.registry import load_registry
from services.common.settings import Settings
from services.gateway.reports.definitions import chat_target

HELSINKI = ZoneInfo("Europe/Helsinki")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
service_areas: [{id: sa, name: Area}]
units: [{id: u1, name: Unit, service_area: sa, nps_target: 80}]
queues:
  - {id: q1, name: Queue, unit: u1, opening_hours: {mon-fri: "07:00-20:00", sat: "10:00-14:00"},
     stale_after: 30m, service_level_seconds: 90}
  - {id: q2, name: Always, unit: u1, opening_hours: 24/7}
  - {id: q3, name: Late, unit: u1, opening_hours: {daily: "18:00-24:00"}}
"""


def test_demo_registry_loads_with_the_queues_of_domain_md() -> None:
    registry = load_registry(Settings().registry_file)
    assert [q.id for q in registry.queues] == [
        "terveysasema-chat",
        "laakari-chat",
        "pitkaaikaissairaudet-chat",
        "kuntoutus-chat",
        "sosiaalineuvonta-chat",
    ]
    health_station = registry.queue("terveysasema-chat")
    assert health_station is not None
    assert health_station.service_level_seconds == 60
    assert health_station.short_abandon_seconds == 10
    assert health_station.stale_after == timedelta(hours=4)
    monday_0700 = datetime(2025, 11, 3, 7, 0, tzinfo=HELSINKI)
    assert health_station.is_open(monday_0700)
    assert not health_station.is_open(monday_0700 - timedelta(seconds=1))
    assert not health_station.is_open(datetime(2025, 11, 3, 20, 0, tzinfo=HELSINKI))
    assert not health_station.is_open(datetime(2025, 11, 8, 12, 0, tzinfo=HELSINKI))  # Saturday
    rehab = registry.queue("kuntoutus-chat")
    assert rehab is not None
    assert rehab.is_open(datetime(2025, 11, 4, 14, 59, tzinfo=HELSINKI))
    assert not rehab.is_open(datetime(2025, 11, 4, 15, 0, tzinfo=HELSINKI))


def test_opening_hours_durations_and_targets(tmp_path: Path) -> None:
    registry = load_registry(write(tmp_path, MINIMAL))
    q1, q2, q3 = registry.queues
    saturday = datetime(2025, 11, 8, 10, 30, tzinfo=HELSINKI)
    assert q1.is_open(saturday)
    assert not q1.is_open(saturday + timedelta(days=1))
    assert q1.stale_after == timedelta(minutes=30)
    assert q1.service_level_seconds == 90
    assert q1.opening_hours is not None
    assert q1.opening_hours.closing_time(saturday) == datetime(2025, 11, 8, 14, 0, tzinfo=HELSINKI)
    assert q1.opening_hours.closing_time(saturday + timedelta(hours=5)) is None
    assert q2.is_open(datetime(2025, 12, 25, 3, 0, tzinfo=HELSINKI))
    assert q3.is_open(datetime(2025, 11, 9, 23, 59, 59, tzinfo=HELSINKI))
    assert not q3.is_open(datetime(2025, 11, 9, 17, 59, tzinfo=HELSINKI))
    assert q3.opening_hours is not None
    assert q3.opening_hours.closing_time(datetime(2025, 11, 9, 19, 0, tzinfo=HELSINKI)) == (
        datetime(2025, 11, 10, 0, 0, tzinfo=HELSINKI)
    )
    unit = registry.unit("u1")
    assert unit is not None
    assert unit.nps_target == 80
    assert registry.unit("nope") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("units: [{id: u, name: U, service_area: missing}]", "unknown service_area missing"),
        ("service_areas: [{id: a, name: A}, {id: a, name: B}]", "duplicate ids: a"),
        (
            "service_areas: [{id: a, name: A}]\nunits: [{id: u, name: U, service_area: a}]\n"
            "queues: [{id: q, name: Q, unit: u, opening_hours: {mon: '20:00-07:00'}}]",
            "ends before it starts",
        ),
        (
            "service_areas: [{id: a, name: A}]\nunits: [{id: u, name: U, service_area: a}]\n"
            "queues: [{id: q, name: Q, unit: u, opening_hours: {funday: '08:00-09:00'}}]",
            "unknown weekday",
        ),
        ("queues: [{id: q, name: Q, unit: nowhere}]", "unknown unit nowhere"),
        ("units: [oops", "not valid YAML"),
        ("units: [{id: u, name: U, service_area: a, colour: red}]", "Extra inputs"),
    ],
)
def test_bad_registry_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as caught:
        load_registry(path)
    assert str(path) in str(caught.value)


def test_missing_registry_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_registry(tmp_path / "nope.yaml")


def test_a_queues_service_level_target_and_the_reports_for_several(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(
        "service_areas: [{id: sa, name: SA}]\n"
        "units: [{id: u, name: U, service_area: sa}]\n"
        "queues:\n"
        "  - {id: q1, name: Q1, unit: u, service_level_target: 0.9}\n"
        "  - {id: q2, name: Q2, unit: u}\n"
        "  - {id: q3, name: Q3, unit: u, service_level_target: 0.9}\n",
        encoding="utf-8",
    )
    registry = load_registry(path)
    assert [q.service_level_target for q in registry.queues] == [0.9, 0.8, 0.9]
    assert chat_target(registry, ["q1"]) == 0.9
    assert chat_target(registry, ["q1", "q3"]) == 0.9  # they share it
    assert chat_target(registry, ["q1", "q2"]) == 0.8  # they differ: the report's
    assert chat_target(registry, ["not-registered"]) == 0.8
    path.write_text("queues: [{id: q, name: Q, unit: u, service_level_target: 1.2}]\n")  # > 1
    with pytest.raises(ValueError, match="service_level_target"):
        load_registry(path)
