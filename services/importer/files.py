"""The rows of an export: CSV (any delimiter, UTF-8, Excel's byte-order mark skipped) or Excel
(.xlsx, the first sheet). Each row comes with the line it ends on (CSV) or its row number
(Excel); the header is line 1."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook

from services.importer.mapping import BadMapping, Mapping

Rows = Iterator[tuple[int, dict[str, str]]]


def read_rows(path: Path, mapping: Mapping) -> Rows:
    if path.suffix.lower() == ".xlsx":
        return _excel_rows(path, mapping)
    return _csv_rows(path, mapping)


def _csv_rows(path: Path, mapping: Mapping) -> Rows:
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.DictReader(file, delimiter=mapping.delimiter)
        _check_header(path, mapping, reader.fieldnames or ())
        for row in reader:
            yield reader.line_num, row


def _excel_rows(path: Path, mapping: Mapping) -> Rows:
    """Cells as the text a CSV export would have: a date or time cell in the mapping's
    `time_format` (ISO 8601 without one), a whole number without decimals."""
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [_text(cell, mapping) for cell in next(rows, ())]
        _check_header(path, mapping, header)
        for number, values in enumerate(rows, start=2):
            if any(value is not None for value in values):
                yield number, dict(zip(header, (_text(v, mapping) for v in values), strict=False))
    finally:
        book.close()


def _text(value: object, mapping: Mapping) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        moment = (
            value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())
        )
        return moment.strftime(mapping.time_format) if mapping.time_format else moment.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_header(path: Path, mapping: Mapping, header: Iterable[str]) -> None:
    missing = sorted(set(mapping.mapped_columns) - set(header))
    if missing:
        raise BadMapping(f"{path}: no column {', '.join(map(repr, missing))} in the header")
