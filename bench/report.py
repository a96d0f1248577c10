"""The results: a table of figures against targets, the machine, and bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TITLE = "# Benchmark results\n"


@dataclass(frozen=True)
class Figure:
    name: str
    value: str
    target: str = ""
    passed: bool | None = None

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "FAIL", None: ""}[self.passed]


def table(figures: list[Figure]) -> str:
    rows = [
        "| figure | value | target | result |",
        "|---|---:|---|---|",
        *(f"| {f.name} | {f.value} | {f.target} | {f.verdict} |" for f in figures),
    ]
    return "\n".join(rows)


def machine() -> str:
    cpus = len(os.sched_getaffinity(0))
    return (
        f"{cpus} CPUs (nproc), {_cpu_model()}, {_memory_gib():.1f} GiB memory, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def write_section(heading: str, body: str, path: Path = RESULTS, first: bool = False) -> None:
    """Replace the `## heading` section of the results file (or add it, at the end or
    `first`); keep the others."""
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if first:
        rest = pattern.sub("", text, count=1).removeprefix(TITLE).strip()
        text = f"{TITLE}\n{section}\n{rest}\n" if rest else f"{TITLE}\n{section}"
    elif pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def mib(size: float) -> str:
    return f"{size / 1024 / 1024:.0f} MiB"


def rate(value: float) -> str:
    return f"{value:,.0f} events/s".replace(",", " ")
