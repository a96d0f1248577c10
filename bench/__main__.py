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
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bench.events import encoded
from bench.infra import DEMO_REGISTRY
from bench.report import RESULTS, machine, write_section
from services.common.events import CHAT
from services.common.registry import load_registry
from services.simulator.chat import simulate_chat

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
    ("nps_alarms", "NPS-drop detector: false alarms and detection on over-dispersed histories"),
    ("forecast", "staffing forecast of chat queues, backtested on the simulator's chat"),
)
SUITE = "suite"
TZ = ZoneInfo("Europe/Helsinki")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--list", action="store_true", help="name the benchmarks and stop")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(f"{name}: {what}" for name, what in BENCHMARKS))
        return 0
    chosen = [name for name, _ in BENCHMARKS if not args.only or name in args.only.split(",")]
    speed = reference_seconds()
    rows = earlier_rows(RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "")
    codes = []
    for name in chosen:
        code, row = _run(name)
        rows[name] = row
        codes.append(code)
    line = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
    write_section(SUITE, _summary(line, speed, rows), first=True)
    print(f"written to {RESULTS}")
    return 0 if all(code == 0 for code in codes) else 1


def reference_seconds() -> float:
    """A fixed pure-Python workload on one core (the chat simulator over 28 days of the demo
    county, each event encoded as the benchmarks do), best of 3: how fast this machine runs
    the kind of code the services run, to compare runs on different machines."""
    registry = load_registry(DEMO_REGISTRY)
    end = datetime(2025, 11, 1, tzinfo=UTC)
    start = end - timedelta(days=28)
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        for event in simulate_chat(registry, start, end, 1, TZ):
            encoded(CHAT, event)
        best = min(best, time.perf_counter() - began)
    return best


def _run(name: str) -> tuple[int, str]:
    """Run one benchmark; its exit code and its row of the suite's table."""
    print(f"=== bench.{name}", flush=True)
    started, began = datetime.now(UTC), time.monotonic()
    code = subprocess.call([sys.executable, "-m", f"bench.{name}"])
    minutes = (time.monotonic() - began) / 60
    what = dict(BENCHMARKS)[name]
    return code, f"| {name} | {what} | {started:%Y-%m-%d %H:%M} | {code} | {minutes:.1f} |"


def earlier_rows(results: str) -> dict[str, str]:
    """The rows of the suite's table as last written, by benchmark (kept for the benchmarks
    not run this time)."""
    section = results.partition(f"## {SUITE}\n")[2].partition("\n## ")[0]
    names = dict(BENCHMARKS)
    return {
        cells[0]: line
        for line in section.splitlines()
        if line.startswith("| ")
        and (cells := [cell.strip() for cell in line.strip("|").split("|")])[0] in names
    }


def _summary(line: str, speed: float, rows: dict[str, str]) -> str:
    table = [
        "| benchmark | what | run at (UTC) | exit | minutes |",
        "|---|---|---|---:|---:|",
        *(rows[name] for name, _ in BENCHMARKS if name in rows),
    ]
    missed = missed_targets(RESULTS.read_text(encoding="utf-8"))
    verdict = (
        "Every figure with a target met it."
        if not missed
        else "Figures that missed their target:\n" + "\n".join(missed)
    )
    return "\n\n".join(
        [
            f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `.venv/bin/{line}` (`make bench` "
            f"runs them all; each row says when that benchmark last ran).\n"
            f"Machine: {machine()}. Reference workload (`bench.__main__.reference_seconds`: "
            f"simulating and encoding 28 days of the demo county's chat, one core, best of 3): "
            f"{speed:.2f} s; the figures of two machines compare in proportion to it.",
            "\n".join(table),
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
