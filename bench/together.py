"""Consumer service processes started at once on pre-filled topics, timed until each consumer
group has committed everything: one service alone, all four together, or two instances of one
service in one group."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import psutil

from bench.infra import Infra, ServiceProcess, cpu_used

_SUM = "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE consumer_group = $1"


@dataclass(frozen=True)
class GroupRun:
    """One consumer group (a service, in one or more processes) from the common start."""

    group: str
    events: int
    first_commit_s: float
    first_batch: int
    done_s: float
    cpu_at_first_s: float
    """CPU seconds the group's processes had used at its first commit."""

    @property
    def rate_total(self) -> float:
        return self.events / self.done_s

    @property
    def rate_steady(self) -> float:
        """First commit to the end (start-up left out); the whole run if it was one batch."""
        if self.done_s <= self.first_commit_s:
            return self.rate_total
        return (self.events - self.first_batch) / (self.done_s - self.first_commit_s)


@dataclass(frozen=True)
class ProcessRun:
    process: str
    group: str
    cpu_s: float
    peak_rss: int


@dataclass(frozen=True)
class TogetherRun:
    groups: list[GroupRun]
    processes: list[ProcessRun]
    wall_s: float
    """Start to the last group done."""
    machine_busy: MachineUse
    other_cpu: dict[str, float]
    """CPU seconds of the broker and of PostgreSQL over the same time."""

    @property
    def events(self) -> int:
        return sum(g.events for g in self.groups)

    def cpu_s(self, group: str) -> float:
        return sum(p.cpu_s for p in self.processes if p.group == group)


@dataclass
class _Progress:
    group: str
    events: int
    processes: list[ServiceProcess]
    first: tuple[float, int, float] | None = None
    done: float | None = None


async def measure_together(
    infra: Infra,
    db: asyncpg.Connection,
    processes: Sequence[ServiceProcess],
    events: dict[str, int],
    within: float = 3600.0,
) -> TogetherRun:
    """Start `processes` at once; poll each group's committed offsets every 50 ms until every
    group of `events` (events per group) has committed them all."""
    machine, others = psutil.cpu_times(), infra.cpu_seconds()
    for process in processes:
        process.start()
    started = min(p.started_at for p in processes)
    progress = [
        _Progress(group, count, [p for p in processes if p.name == group])
        for group, count in events.items()
    ]
    while any(p.done is None for p in progress):
        tick = time.monotonic()
        for p in progress:
            if p.done is None:
                _advance(p, await committed_sum(db, p.group), time.monotonic() - started)
        for process in processes:
            process.check_alive()
        if tick - started > within:
            raise TimeoutError(f"not all committed within {within} s: {progress}")
        await asyncio.sleep(max(0.0, 0.05 - (time.monotonic() - tick)))
    return TogetherRun(
        groups=[_group_run(p) for p in progress],
        processes=[
            ProcessRun(p.log_file.stem, p.name, p.cpu_seconds(), p.peak_rss_bytes())
            for p in processes
        ],
        wall_s=max(p.done or 0.0 for p in progress),
        machine_busy=busy_since(machine),
        other_cpu=cpu_used(others, infra.cpu_seconds()),
    )


def _advance(p: _Progress, committed: int, at: float) -> None:
    if committed > 0 and p.first is None:
        p.first = (at, committed, sum(process.cpu_seconds() for process in p.processes))
    if committed >= p.events:
        p.done = at


def _group_run(p: _Progress) -> GroupRun:
    assert p.first is not None
    assert p.done is not None
    return GroupRun(p.group, p.events, p.first[0], p.first[1], p.done, p.first[2])


async def committed_sum(db: asyncpg.Connection, group: str) -> int:
    return int(await db.fetchval(_SUM, group))


@dataclass(frozen=True)
class MachineUse:
    """Share of all CPUs busy (any process) over a run, and the part of it the hypervisor
    took (steal: a virtual CPU that had work waited for the host). Runs with much steal
    are slower for reasons outside the machine: compare them by CPU per event, not rate."""

    busy: float
    stolen: float

    def __str__(self) -> str:
        return f"{self.busy * 100:.0f} % (stolen by the host: {self.stolen * 100:.1f} %)"


def busy_since(before: Any) -> MachineUse:
    """How the CPUs were used since `psutil.cpu_times()` gave `before`."""
    after = psutil.cpu_times()
    total = sum(after) - sum(before)
    if total <= 0:
        return MachineUse(0.0, 0.0)
    idle = (after.idle + after.iowait) - (before.idle + before.iowait)
    return MachineUse(1 - idle / total, (after.steal - before.steal) / total)
