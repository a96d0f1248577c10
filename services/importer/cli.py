"""`kanava import FILE --mapping MAP.yaml [--dry-run] [--errors FILE]` (docs/import.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from zipfile import BadZipFile

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from openpyxl.utils.exceptions import InvalidFileException
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.common.events import Envelope
from services.common.producer import publish, started_producer
from services.common.settings import get_settings
from services.importer.files import read_rows
from services.importer.mapping import BadMapping, Mapping, load_mapping
from services.importer.rows import BadRow

PROG = "kanava import"
BATCH = 5000  # events sent before waiting for the broker's acknowledgements
PROGRESS_EVERY = 10_000  # rows between two progress lines
BAR_EVERY = 100  # rows between two updates of the progress bar
SOME_ROWS_BAD = 3


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "import", help="send a county's exports from before go-live as events", description=__doc__
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the export: CSV or .xlsx")
    parser.add_argument("--mapping", type=Path, required=True, metavar="MAP.yaml")
    parser.add_argument("--dry-run", action="store_true", help="check every row, send nothing")
    parser.add_argument(
        "--errors", type=Path, metavar="FILE", help="bad rows go here (default FILE.errors.csv)"
    )
    parser.set_defaults(handler=run)


@dataclass
class Outcome:
    rows: int = 0
    events: int = 0
    bad: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)


def run(args: argparse.Namespace) -> int:
    try:
        mapping = load_mapping(args.mapping)
        total = sum(1 for _ in read_rows(args.file, mapping))  # checks the file before sending
        outcome = asyncio.run(send(args.file, total, mapping, dry_run=args.dry_run))
    except (
        BadMapping,
        OSError,
        UnicodeDecodeError,
        csv.Error,
        BadZipFile,
        InvalidFileException,
    ) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except KafkaError as exc:
        bootstrap = get_settings().bootstrap()
        print(f"{PROG}: cannot reach the Kafka broker at {bootstrap}: {exc}", file=sys.stderr)
        return 2
    errors = args.errors or args.file.with_name(args.file.name + ".errors.csv")
    if outcome.bad:
        write_errors(errors, mapping, outcome.bad)
    print(summary(outcome, args.dry_run, errors))
    return SOME_ROWS_BAD if outcome.bad else 0


async def send(path: Path, total: int, mapping: Mapping, dry_run: bool) -> Outcome:
    """Read the file's rows again, one at a time, and send their events in batches (all at
    the end, combined, for a source that combines them)."""
    outcome = Outcome()
    async with _producer(dry_run) as producer:
        with progress_shown(total, sys.stderr) as shown:
            await _send_rows(path, total, mapping, producer, outcome, shown)
    return outcome


async def _send_rows(
    path: Path,
    total: int,
    mapping: Mapping,
    producer: AIOKafkaProducer | None,
    outcome: Outcome,
    shown: Callable[[Outcome], None],
) -> None:
    key = get_settings().phone_hash_key.get_secret_value()
    combine = mapping.kind.combine
    pending: list[Envelope] = []
    for line, row in read_rows(path, mapping):
        outcome.rows += 1
        try:
            pending += mapping.kind.events(mapping, row, key)
        except BadRow as exc:
            outcome.bad.append((line, str(exc), row))
        if (len(pending) >= BATCH and combine is None) or outcome.rows == total:
            if combine is not None:
                pending = combine(mapping, pending)
            if producer is not None:
                await publish(producer, mapping.kind.stream, pending)
            outcome.events += len(pending)
            pending = []
        shown(outcome)


@contextlib.contextmanager
def progress_shown(total: int, stream: TextIO) -> Iterator[Callable[[Outcome], None]]:
    """A progress bar on a terminal; elsewhere (a log, a pipe) a line every 10 000 rows."""
    if not stream.isatty():

        def line(outcome: Outcome) -> None:
            if outcome.rows % PROGRESS_EVERY == 0:
                print(f"{PROG}: {progress(outcome, total)}", file=stream, flush=True)

        yield line
        return
    columns = (
        TextColumn(PROG),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows, {task.fields[bad]} bad"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(file=stream), transient=True) as bar:
        task = bar.add_task(PROG, total=total, bad=0)

        def advance(outcome: Outcome) -> None:
            if outcome.rows % BAR_EVERY == 0 or outcome.rows == total:
                bar.update(task, completed=outcome.rows, bad=len(outcome.bad))

        yield advance


def _producer(dry_run: bool) -> AbstractAsyncContextManager[AIOKafkaProducer | None]:
    if dry_run:
        return contextlib.nullcontext(None)
    return started_producer(get_settings().bootstrap())


def progress(outcome: Outcome, rows: int) -> str:
    good = outcome.rows - len(outcome.bad)
    return f"{_n(outcome.rows)} of {_n(rows)} rows, {_n(good)} good, {_n(len(outcome.bad))} bad"


def _n(count: int) -> str:
    return f"{count:,}".replace(",", "\u202f")


def write_errors(path: Path, mapping: Mapping, bad: list[tuple[int, str, dict[str, str]]]) -> None:
    """A line per bad row: its line, why, and the mapped columns as they were (the columns not
    mapped are left out: an export may hold more than Kanava needs)."""
    columns = mapping.mapped_columns
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["line", "reason", *columns])
        for line, reason, row in bad:
            writer.writerow([line, reason, *(row.get(c) or "" for c in columns)])


def summary(outcome: Outcome, dry_run: bool, errors: Path) -> str:
    verb = "would send" if dry_run else "sent"
    text = f"{PROG}: {progress(outcome, outcome.rows)}; {verb} {_n(outcome.events)} events"
    if outcome.bad:
        lines = ", ".join(str(line) for line, _, _ in outcome.bad[:10])
        more = " …" if len(outcome.bad) > 10 else ""
        text += f"\nbad rows (line {lines}{more}) are in {errors}, each with the reason"
    return text
