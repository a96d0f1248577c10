"""`make bench` = `python -m bench`: every benchmark, one after the other, each in its own
process on an otherwise idle machine, each writing its section of bench/RESULTS.md; then the
"suite" section at the top: when, the command, the machine, how long each took, and every
figure that missed its target.

Options: `--only chat_metrics,replay` runs some of them; `--list` names them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from bench.report import RESULTS, machine, write_section

BENCHMARKS = (
    ("chat_metrics", "chat_metrics alone: backlog, naive consumer, freshness, memory"),
    ("feedback_ingest", "feedback_ingest alone"),
    ("pathway_metrics", "pathway_metrics alone"),
    ("contact_metrics", "contact_metrics alone"),
    ("pipeline", "all four services together; scale-out of chat_metrics"),
    ("freshness", "append → /metrics and → gateway API at 100, 1 000, 5 000 events/s"),
    ("peers", "side by side: tutorial consumer and a stream-processing library"),
    ("gateway_load", "gateway latency and throughput under load from wrk"),
    ("monthly_report", "monthly report of a county month, each format"),
    ("replay", "a county year from empty topics to the monthly report"),
)
SUITE = "suite"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--list", action="store_true", help="name the benchmarks and stop")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(f"{name}: {what}" for name, what in BENCHMARKS))
        return 0
    chosen = [name for name, _ in BENCHMARKS if not args.only or name in args.only.split(",")]
    started = datetime.now(UTC)
    runs = [(name, *_run(name)) for name in chosen]
    line = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
    write_section(SUITE, _summary(started, line, runs), first=True)
    print(f"written to {RESULTS}")
    return 0 if all(code == 0 for _, code, _ in runs) else 1


def _run(name: str) -> tuple[int, float]:
    print(f"=== bench.{name}", flush=True)
    started = time.monotonic()
    code = subprocess.call([sys.executable, "-m", f"bench.{name}"])
    return code, time.monotonic() - started


def _summary(started: datetime, line: str, runs: list[tuple[str, int, float]]) -> str:
    rows = ["| benchmark | what | exit | minutes |", "|---|---|---:|---:|"]
    what = dict(BENCHMARKS)
    rows += [f"| {name} | {what[name]} | {code} | {s / 60:.1f} |" for name, code, s in runs]
    missed = missed_targets(RESULTS.read_text(encoding="utf-8"))
    verdict = (
        "Every figure with a target met it."
        if not missed
        else "Figures that missed their target:\n" + "\n".join(missed)
    )
    return "\n\n".join(
        [
            f"Run {started:%Y-%m-%d %H:%M} UTC with `make bench` = `.venv/bin/{line}`.\n"
            f"Machine: {machine()}.",
            "\n".join(rows),
            verdict,
        ]
    )


def missed_targets(results: str) -> list[str]:
    """`- section: figure (value; target …)` of every row marked FAIL in the results."""
    missed, section = [], ""
    for line in results.splitlines():
        if line.startswith("## "):
            section = line[3:]
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("|") and cells[-1] == "FAIL":
            missed.append(f"- {section}: {cells[0]} ({cells[1]}; target {cells[2]})")
    return missed


if __name__ == "__main__":
    sys.exit(main())
