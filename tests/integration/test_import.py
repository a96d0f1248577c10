"""`kanava import` of a chat log through a real broker into chat_metrics' figures: the figures
worked out by hand, a re-import counting nothing twice, bad rows in the error file with their
lines while the good ones go on, and a dry run that sends nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from services.chat_metrics.exports import ChatExports
from services.chat_metrics.queues import QueueRules
from services.chat_metrics.service import ChatMetrics
from services.cli import main
from services.common.events import CHAT, ChatEvent
from services.common.registry import load_registry
from services.importer.chat_log import BadRow, chat_events
from services.importer.files import read_rows
from services.importer.mapping import Mapping, load_mapping
from tests.integration.test_chat_metrics_store import REGISTRY, WAIT, daily
from tests.integration.test_simulator_produce import TopicReader, open_reader
from tests.support.apply import apply_batch

EXPORT = """\ufeffTunnus;Jono;Jonoon;Vastattu;Päättyi;Keskeytetty;Nimi
c1;Jono 1;3.11.2025 9.00.00;3.11.2025 9.00.40;3.11.2025 9.10.40;;Matti
c2;Jono 1;3.11.2025 9.05.00;;3.11.2025 9.07.00;kyllä;Maija
c3;Jono 1;3.11.2025 9.06.00;3.11.2025 9.08.00;3.11.2025 9.20.00;;Liisa
c4;Jono 1;3.11.2025 25.00.00;;3.11.2025 9.07.00;kyllä;Pekka
c5;q2;3.11.2025 10.00.00;3.11.2025 10.00.20;3.11.2025 10.05.20;;Ville
"""
MAPPING = """\
source: chat_log
name: kaiku-2025
time_format: "%d.%m.%Y %H.%M.%S"
delimiter: ";"
columns: {chat_id: Tunnus, queue: Jono, queued: Jonoon, answered: Vastattu, ended: Päättyi,
          abandoned: Keskeytetty}
queues: {"Jono 1": q1}
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    export, mapping = tmp_path / "chats.csv", tmp_path / "chats.yaml"
    export.write_text(EXPORT, encoding="utf-8")
    mapping.write_text(MAPPING, encoding="utf-8")
    return export, mapping


@pytest.fixture
async def reader(broker: str) -> AsyncIterator[TopicReader]:
    async for opened in open_reader(broker, CHAT):
        yield opened


async def run(*argv: str) -> int:
    return await asyncio.to_thread(main, ["import", *argv])


async def test_a_chat_log_becomes_the_figures_of_its_chats(
    files: tuple[Path, Path],
    reader: TopicReader,
    engine: AsyncEngine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    export, mapping = files
    assert await run(str(export), "--mapping", str(mapping)) == 3  # some rows were bad
    out = capsys.readouterr().out
    assert out.startswith("kanava import: 5 of 5 rows, 4 good, 1 bad; sent 11 events\n")
    errors = (tmp_path / "chats.csv.errors.csv").read_text(encoding="utf-8").splitlines()
    # line 5 (the header is line 1): 25.00.00 is no time; unmapped columns (Nimi) are left out
    assert errors == [
        "line,reason,Tunnus,Jono,Jonoon,Vastattu,Päättyi,Keskeytetty",
        "5,queued: '3.11.2025 25.00.00' is not a time (%d.%m.%Y %H.%M.%S),c4,Jono 1,"
        "3.11.2025 25.00.00,,3.11.2025 9.07.00,kyllä",
    ]
    records = await reader.appended(11)  # 3 + 2 + 3 + 3
    events: list[ChatEvent] = [CHAT.adapter.validate_json(r.value) for r in records]
    domain = registry_domain(tmp_path)
    assert len(await apply_batch(engine, domain, events)) == 11
    # q1: c1 answered after 40 s, c2 left after 120 s, c3 answered after 120 s (SL 60 s);
    # q2: c5 answered after 20 s
    q1 = await daily(engine, "q1", date(2025, 11, 3))
    assert (q1["offered"], q1["answered"], q1["abandoned"], q1["answered_within_sl"]) == (
        3,
        2,
        1,
        1,
    )
    assert (q1["handle_ms"], q1["closed"]) == (600_000 + 720_000, 2)
    q2 = await daily(engine, "q2", date(2025, 11, 3))
    assert (q2["offered"], q2["answered"], q2["answered_within_sl"]) == (1, 1, 1)

    # the same file again: the same events, which count once
    assert await run(str(export), "--mapping", str(mapping)) == 3
    again = [CHAT.adapter.validate_json(r.value) for r in await reader.appended(11)]
    assert sorted(e.id for e in again) == sorted(e.id for e in events)
    assert await apply_batch(engine, domain, again) == []
    assert await daily(engine, "q1", date(2025, 11, 3)) == q1


async def test_a_dry_run_checks_every_row_and_sends_nothing(
    files: tuple[Path, Path],
    reader: TopicReader,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    export, mapping = files
    errors = tmp_path / "bad-rows.csv"
    assert (
        await run(str(export), "--mapping", str(mapping), "--dry-run", "--errors", str(errors)) == 3
    )
    assert capsys.readouterr().out.startswith(
        "kanava import: 5 of 5 rows, 4 good, 1 bad; would send 11 events\n"
        f"bad rows (line 5) are in {errors}"
    )
    assert errors.read_text(encoding="utf-8").count("\n") == 2
    assert await reader.poll() == []


async def test_a_mapping_naming_a_missing_column_is_refused(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    export, mapping = files
    mapping.write_text(MAPPING.replace("Päättyi", "Loppui"), encoding="utf-8")
    assert await run(str(export), "--mapping", str(mapping), "--dry-run") == 2
    assert capsys.readouterr().err == f"kanava import: {export}: no column 'Loppui' in the header\n"


def registry_domain(tmp_path: Path) -> ChatMetrics:
    (path := tmp_path / "registry.yaml").write_text(REGISTRY, encoding="utf-8")
    return ChatMetrics(
        QueueRules(load_registry(path), ZoneInfo("Europe/Helsinki")), ChatExports(WAIT)
    )


def imported(path: Path, mapping: Mapping) -> list[tuple[int, object]]:
    """Each row's line and events (id, type, time), or why it is bad."""
    rows: list[tuple[int, object]] = []
    for line, row in read_rows(path, mapping):
        try:
            rows.append((line, [(e.id, e.type, e.time) for e in chat_events(mapping, row)]))
        except BadRow as bad:
            rows.append((line, str(bad)))
    return rows


def excel_export(path: Path) -> None:
    """The rows of EXPORT as an Excel user would have them: date cells, a number for an id."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in EXPORT.lstrip("\ufeff").splitlines():
        cells: list[object] = []
        for text in line.split(";"):
            try:
                cells.append(datetime.strptime(text, "%d.%m.%Y %H.%M.%S"))
            except ValueError:
                cells.append(text)
        sheet.append(cells)
    sheet.append([None] * 7)  # an empty row at the end, as spreadsheets have
    book.save(path)


async def test_an_excel_export_reads_as_its_csv(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export, mapping = files
    workbook = tmp_path / "chats.xlsx"
    excel_export(workbook)
    chosen = load_mapping(mapping)
    assert imported(workbook, chosen) == imported(export, chosen)
    assert await run(str(workbook), "--mapping", str(mapping), "--dry-run") == 3
    assert capsys.readouterr().out.startswith(
        "kanava import: 5 of 5 rows, 4 good, 1 bad; would send 11 events\n"
    )
    (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
    assert await run(str(tmp_path / "broken.xlsx"), "--mapping", str(mapping)) == 2
    assert capsys.readouterr().err.startswith("kanava import: ")
