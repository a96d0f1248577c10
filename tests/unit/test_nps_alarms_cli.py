"""`kanava nps-alarms`: a small file of daily counts to the exact JSON and listing; bad input
to exit code 2 and a message naming the line.

The file holds the fallback example of tests/unit/test_nps_drop.py for unit "clinic" (days
2026-03-01..2026-03-20 with 7 promoters, 2 passives, 1 detractor each, then 2026-03-29..
2026-04-03 with 5, 2, 3 each; the alarm is on the evenings of 2026-04-03 and 2026-04-04) and a
unit "lab" with a few good days and no alarm. Rows come out of order and one day of "clinic"
comes in two rows that are added up.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from services.cli import main
from services.nps_alarms import runs

FIRST = date(2026, 3, 1)
HEADER = "date,unit_id,promoters,passives,detractors"


def clinic_rows() -> list[str]:
    good = [f"{FIRST + timedelta(t)},clinic,7,2,1" for t in range(20)]
    bad = [f"{FIRST + timedelta(t)},clinic,5,2,3" for t in range(28, 34)]
    # 2026-04-01 as two rows: 2,1,1 and 3,1,2
    bad[3:4] = [f"{FIRST + timedelta(31)},clinic,2,1,1", f"{FIRST + timedelta(31)},clinic,3,1,2"]
    return good + bad + [f"{FIRST + timedelta(34)},clinic,0,0,0"]


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "daily.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_json_of_a_small_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = [f"2026-03-0{day},lab,9,1,0" for day in (3, 1, 2)]
    path = write(tmp_path, [HEADER, *lab, *reversed(clinic_rows())])
    assert main(["nps-alarms", "--daily", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == {"alarms": {"clinic": ["2026-04-03", "2026-04-04"], "lab": []}}
    assert out == '{"alarms": {"clinic": ["2026-04-03", "2026-04-04"], "lab": []}}\n'


def test_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, [HEADER, "2026-03-01,lab,9,1,0", *clinic_rows()])
    assert main(["nps-alarms", "--daily", str(path)]) == 0
    assert capsys.readouterr().out == (
        "clinic: 2 evenings with the alarm on\n  2026-04-03 .. 2026-04-04 (2 d)\nlab: never on\n"
    )


def test_a_file_with_a_byte_order_mark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "daily.csv"
    path.write_bytes(f"\ufeff{HEADER}\r\n2026-03-01,lab,9,1,0\r\n".encode())
    assert main(["nps-alarms", "--daily", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"alarms": {"lab": []}}


def test_runs_of_days() -> None:
    days = [date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 7)]
    assert runs(days) == [(days[0], days[1]), (days[2], days[2])]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["date,unit_id,promoters,passives"], "line 1: missing column detractors"),
        ([HEADER, "2026-03-01,lab,1,0,0", "2026-02-30,lab,1,0,0"], "line 3: date '2026-02-30'"),
        ([HEADER, "01.03.2026,lab,1,0,0"], "line 2: date '01.03.2026'"),
        ([HEADER, "2026-03-01,lab,-1,0,0"], "line 2: promoters '-1' is not a whole number"),
        ([HEADER, "2026-03-01,lab,1,2.5,0"], "line 2: passives '2.5' is not a whole number"),
        ([HEADER, "2026-03-01,lab,1,0"], "line 2: no value for detractors"),
        ([HEADER, "2026-03-01,,1,0,0"], "line 2: no value for unit_id"),
        ([HEADER, "2026-03-01,lab,1,0,0,7"], "line 2: more fields than the header has"),
    ],
)
def test_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], message: str
) -> None:
    path = write(tmp_path, lines)
    assert main(["nps-alarms", "--daily", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"kanava nps-alarms: {path}: {message}")
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("content", [None, b"date,unit_id\xff\n"])
def test_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None
) -> None:
    path = tmp_path / "daily.csv"
    if content is not None:
        path.write_bytes(content)
    assert main(["nps-alarms", "--daily", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"kanava nps-alarms: {path}: cannot read it: ")
