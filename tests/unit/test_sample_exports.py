"""`kanava sample-exports`: the simulator's world as export files that the importer reads
through their own mappings with no bad row, the same files for the same seed."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.common.events import ContactMonthCountedData
from services.common.registry import load_registry
from services.common.settings import get_settings
from services.importer.files import read_rows
from services.importer.mapping import load_mapping
from services.importer.rows import BadRow
from services.simulator.contacts import expected_contacts, plan_of
from services.simulator.exports import (
    EXPORTS,
    World,
    contact_count_rows,
    history,
    write_exports,
)
from services.simulator.feedback import simulate_feedback
from services.simulator.pathways import simulate_pathways

pytestmark = pytest.mark.unit
HELSINKI = ZoneInfo("Europe/Helsinki")
KEY = "sample-key"


def world(seed: int = 1) -> World:
    registry = load_registry(get_settings().registry_file)
    start, end = history(date(2025, 11, 6), 0, HELSINKI)
    return World(registry, start.replace(day=3), end, seed, HELSINKI, KEY)  # 3-5 Nov 2025


def imported(path: Path) -> tuple[int, Counter[str]]:
    """The rows of an export read through its mapping, and their events by type."""
    mapping = load_mapping(path.with_suffix(".yaml"))
    rows, types = 0, Counter[str]()
    for line, row in read_rows(path, mapping):
        rows += 1
        try:
            types.update(e.type for e in mapping.kind.events(mapping, row, KEY))
        except BadRow as bad:
            pytest.fail(f"{path.name}, line {line}: {bad}")
    return rows, types


def test_the_exports_import_without_a_bad_row(tmp_path: Path) -> None:
    chosen = world()
    written = write_exports(tmp_path, chosen)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "chats.csv",
        "chats.yaml",
        "contact-counts.csv",
        "contact-counts.yaml",
        "pathway-starts.csv",
        "pathway-starts.yaml",
        "surveys.csv",
        "surveys.yaml",
    ]
    assert [p.name for p in written] == [e.file for e in EXPORTS]
    args = (chosen.registry, chosen.start, chosen.end, chosen.seed, HELSINKI)
    simulated = Counter(e.type for e in simulate_feedback(*args, KEY))
    started = Counter(e.type for e in simulate_pathways(*args))["pathway.started"]

    rows, surveys = imported(tmp_path / "surveys.csv")
    # a row per survey sent in the range, each delivered or not as simulated
    assert rows == written[tmp_path / "surveys.csv"] == simulated["survey.sent"]
    assert surveys["survey.sent"] == simulated["survey.sent"]
    assert surveys["survey.delivery_failed"] == simulated["survey.delivery_failed"]
    rows, starts = imported(tmp_path / "pathway-starts.csv")
    assert rows == starts["pathway.started"] == started
    rows, chats = imported(tmp_path / "chats.csv")
    assert rows == chats["chat.queued"] == chats["chat.answered"] + chats["chat.abandoned"] > 0
    text = (tmp_path / "chats.csv").read_text(encoding="utf-8-sig")
    assert text.startswith("Keskustelun tunnus;Jono;Aloitettu;Jonoon;Vastattu;Päättynyt;")


def test_contact_counts_are_whole_months_of_the_expected_contacts(tmp_path: Path) -> None:
    registry = load_registry(get_settings().registry_file)
    start = datetime(2025, 9, 15, tzinfo=HELSINKI)  # September and November cut: October only
    chosen = World(registry, start, datetime(2025, 11, 6, tzinfo=HELSINKI), 1, HELSINKI, KEY)
    write_exports(tmp_path, chosen)
    path = tmp_path / "contact-counts.csv"
    rows, counted = imported(path)
    assert rows == counted["contact.month_counted"] > 0
    mapping = load_mapping(path.with_suffix(".yaml"))
    by_unit: Counter[str] = Counter()
    for _, row in read_rows(path, mapping):
        (event,) = mapping.kind.events(mapping, row, KEY)
        assert isinstance(event.data, ContactMonthCountedData)
        assert event.data.month == "2025-10"
        by_unit[event.data.unit_id] += event.data.contacts
    october = [date(2025, 10, day) for day in range(1, 32)]
    for unit in registry.units:
        expected = sum(expected_contacts(unit.id, day) for day in october)
        channels = len(plan_of(unit.id).profile.digital) + len(plan_of(unit.id).profile.other)
        assert abs(by_unit[unit.id] - expected) <= channels / 2  # each channel's count rounded


def test_the_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    write_exports(tmp_path / "a", world())
    write_exports(tmp_path / "b", world())
    write_exports(tmp_path / "c", world(seed=2))
    for export in EXPORTS:
        first = (tmp_path / "a" / export.file).read_bytes()
        assert first == (tmp_path / "b" / export.file).read_bytes()
        # the contact counts are the simulator's expectations, the same in every world
        seeded = export.rows is not contact_count_rows
        assert (first != (tmp_path / "c" / export.file).read_bytes()) == seeded


def test_a_history_is_the_months_before_its_day() -> None:
    start, end = history(date(2026, 3, 31), 12, HELSINKI)
    assert (start, end) == (
        datetime(2025, 3, 31, tzinfo=HELSINKI),
        datetime(2026, 3, 31, tzinfo=HELSINKI),
    )
    assert history(date(2025, 3, 31), 1, HELSINKI)[0] == datetime(2025, 2, 28, tzinfo=HELSINKI)
