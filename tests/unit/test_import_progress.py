"""`kanava import`'s progress: a bar on a terminal (a real pseudo-terminal here), a line every
10 000 rows in a log or a pipe."""

from __future__ import annotations

import io
import os
import pty
from typing import TextIO

import pytest

from services.importer.cli import PROGRESS_EVERY, Outcome, progress_shown

pytestmark = pytest.mark.unit
NNBSP = "\u202f"


def run_rows(total: int, bad_every: int, stream: TextIO) -> None:
    outcome = Outcome()
    with progress_shown(total, stream) as shown:
        for row in range(1, total + 1):
            outcome.rows = row
            if row % bad_every == 0:
                outcome.bad.append((row + 1, "bad", {}))
            shown(outcome)


def test_a_line_every_ten_thousand_rows_in_a_log() -> None:
    log = io.StringIO()
    run_rows(25_000, 5_000, log)
    assert log.getvalue().splitlines() == [
        f"kanava import: 10{NNBSP}000 of 25{NNBSP}000 rows, 9{NNBSP}998 good, 2 bad",
        f"kanava import: 20{NNBSP}000 of 25{NNBSP}000 rows, 19{NNBSP}996 good, 4 bad",
    ]
    assert PROGRESS_EVERY == 10_000


def test_a_bar_on_a_terminal() -> None:
    main, other = pty.openpty()
    os.set_blocking(main, False)
    with os.fdopen(other, "w", encoding="utf-8") as terminal:
        assert terminal.isatty()
        run_rows(1_000, 250, terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    text = shown.decode("utf-8", "replace")
    assert "kanava import" in text
    assert "1000/1000" in text  # rows done of the file's rows
    assert "4 bad" in text
    assert "━" in text  # the bar
