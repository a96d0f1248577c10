"""Keeping the dev stack running: a child that exits, or is killed, is started again after a
pause that doubles while it keeps failing; one line says so each time."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from services.devstack.children import Child, stop_all


@dataclass
class Backoff:
    """The pause before a restart: `first` seconds, doubled at each exit up to `longest`, and
    `first` again for a child that had stayed up `steady` seconds."""

    first: float = 1.0
    longest: float = 30.0
    steady: float = 60.0
    last: float | None = None

    def pause_after(self, uptime: float) -> float:
        """The pause for a child that exited after `uptime` seconds."""
        if self.last is None or uptime >= self.steady:
            self.last = self.first
        else:
            self.last = min(self.last * 2, self.longest)
        return self.last


def exit_status(code: int) -> str:
    """`exited with code -9 (killed by SIGKILL)`: a negative code is the signal that ended it."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        cause = signal.Signals(-code).name
    except ValueError:
        cause = f"signal {-code}"
    return f"exited with code {code} (killed by {cause})"


@dataclass(eq=False)
class Watched:
    child: Child
    start: Callable[[], object]
    finishes: bool  # exit code 0 means its work is done: not restarted
    dependents: list[Watched]  # stopped when this child exits, started again after it
    note: str  # the end of its restart line
    started_at: float
    backoff: Backoff = field(default_factory=Backoff)
    restarts: int = 0
    due: float | None = None  # when the pending restart is due
    held: bool = False  # stopped until what it depends on is back
    done: bool = False


class Supervisor:
    """`check` every now and then: reports exits, schedules restarts, restarts when due.
    Stopping the stack needs nothing from it: pending restarts are simply never made."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.watched: list[Watched] = []

    def watch(
        self,
        child: Child,
        *,
        start: Callable[[], object] | None = None,
        finishes: bool = False,
        dependents: Sequence[Watched] = (),
        note: str = "",
    ) -> Watched:
        """Watch a started child; `start` (default: the child's own) starts it again."""
        watched = Watched(
            child, start or child.start, finishes, list(dependents), note, self.clock()
        )
        self.watched.append(watched)
        return watched

    def check(self) -> None:
        now = self.clock()
        # What others depend on first: its dependents are held before their exits count.
        for watched in sorted(self.watched, key=lambda w: not w.dependents):
            if watched.held or watched.done or watched.child.exited() is None:
                continue
            if watched.due is None:
                self._exited(watched, now)
            elif now >= watched.due:
                self._restart(watched)

    def _exited(self, watched: Watched, now: float) -> None:
        code = watched.child.exited()
        assert code is not None
        if code == 0 and watched.finishes:
            watched.done = True
            say(f"{watched.child.name} finished")
            return
        self._schedule(watched, now, exit_status(code), uptime=now - watched.started_at)

    def _schedule(self, watched: Watched, now: float, what: str, uptime: float) -> None:
        pause = watched.backoff.pause_after(uptime)
        watched.restarts += 1
        watched.due = now + pause
        say(
            f"{watched.child.name} {what}; restarting in {pause:g} s "
            f"(restart {watched.restarts}){watched.note}"
        )
        self._hold(watched.dependents)

    def _hold(self, dependents: list[Watched]) -> None:
        running = [d for d in dependents if not (d.held or d.done)]
        for dependent in running:
            dependent.held, dependent.due = True, None
        stop_all([d.child for d in running])

    def _restart(self, watched: Watched) -> None:
        try:
            watched.start()
        except (RuntimeError, OSError) as exc:
            stop_all([watched.child])
            self._schedule(watched, self.clock(), f"did not start again ({exc})", uptime=0)
            return
        watched.started_at, watched.due = self.clock(), None
        for dependent in watched.dependents:
            if dependent.held:
                dependent.start()
                dependent.started_at, dependent.held = self.clock(), False


def say(line: str) -> None:
    print(f"kanava up: {line}", file=sys.stderr, flush=True)
