"""`kanava nps-alarms --daily FILE.csv [--json]`: the days on whose evening each unit's NPS drop
alarm is on, from a file of daily counts (services/common/nps_drop.py, docs/nps-drop.md).

The file has a header and the columns date,unit_id,promoters,passives,detractors: one row per
unit and local day, in any order; a missing day has no responses, a day given twice is added up.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from services.common.nps_drop import DayCounts, alarm_days

COLUMNS = ("date", "unit_id", "promoters", "passives", "detractors")
PROG = "kanava nps-alarms"


class BadInput(Exception):
    pass


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "nps-alarms", help="the days each unit's NPS drop alarm is on, from daily counts"
    )
    parser.add_argument(
        "--daily", type=Path, required=True, metavar="FILE.csv", help=f"columns {','.join(COLUMNS)}"
    )
    parser.add_argument("--json", action="store_true", help='print {"alarms": {unit: [days]}}')
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        history = read_daily(args.daily)
    except BadInput as exc:
        print(f"{PROG}: {args.daily}: {exc}", file=sys.stderr)
        return 2
    alarms = dict(sorted(alarm_days(history).items()))
    if args.json:
        days = {unit: [day.isoformat() for day in on] for unit, on in alarms.items()}
        print(json.dumps({"alarms": days}))
    else:
        print("\n".join(listing(unit, on) for unit, on in alarms.items()))
    return 0


def read_daily(path: Path) -> dict[str, list[DayCounts]]:
    """The file's rows by unit; BadInput names the line and what is wrong."""
    history: dict[str, list[DayCounts]] = defaultdict(list)
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:  # Excel writes a BOM
            for unit, counts in _rows(csv.DictReader(file)):
                history[unit].append(counts)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadInput(f"cannot read it: {exc}") from exc
    return dict(history)


def _rows(reader: csv.DictReader[str]) -> Iterator[tuple[str, DayCounts]]:
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise BadInput(f"line 1: missing column {', '.join(missing)} (the header needs {COLUMNS})")
    for row in reader:
        yield _row(row, reader.line_num)


def _row(row: dict[str | None, str | None], line: int) -> tuple[str, DayCounts]:
    if None in row:
        raise BadInput(f"line {line}: more fields than the header has")
    empty = [column for column in COLUMNS if not (row[column] or "").strip()]
    if empty:
        raise BadInput(f"line {line}: no value for {', '.join(empty)}")
    unit, day = (row["unit_id"] or "").strip(), _date(row["date"] or "", line)
    p, m, d = (_count(row, column, line) for column in COLUMNS[2:])
    return unit, DayCounts(day, p, m, d)


def _date(text: str, line: int) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"line {line}: date {text!r} is not a date YYYY-MM-DD") from None


def _count(row: dict[str | None, str | None], column: str, line: int) -> int:
    text = (row[column] or "").strip()
    if not text.isdigit() or not text.isascii():
        raise BadInput(f"line {line}: {column} {text!r} is not a whole number 0 or more")
    return int(text)


def listing(unit: str, days: list[date]) -> str:
    """`unit: N evenings with the alarm on` and one line per run of days, or `never on`."""
    if not days:
        return f"{unit}: never on"
    lines = [f"{unit}: {len(days)} evening{'s' if len(days) > 1 else ''} with the alarm on"]
    lines += [f"  {first} .. {last} ({(last - first).days + 1} d)" for first, last in runs(days)]
    return "\n".join(lines)


def runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) pairs; `days` is in order."""
    result: list[tuple[date, date]] = []
    for day in days:
        if result and day - result[-1][1] == timedelta(days=1):
            result[-1] = (result[-1][0], day)
        else:
            result.append((day, day))
    return result
