"""Child processes of the dev stack: each in its own process group, tied to the launcher's life."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def detach_and_tie_to_parent() -> None:
    """Own process group, so a terminal's Ctrl-C reaches only the launcher (which stops the
    children once, gracefully); SIGTERM from the kernel if the launcher itself dies."""
    os.setpgrp()
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(eq=False)
class Child:
    """A command the launcher runs, and runs again after an exit (same argv, env and log)."""

    name: str
    argv: list[str]
    env: Mapping[str, str] | None = None  # None: the launcher's environment
    log_file: Path | None = None  # None: the launcher's terminal
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> subprocess.Popen[bytes]:
        # PDEATHSIG follows the thread that forks: children are started from the main thread,
        # which lives as long as the launcher.
        if self.log_file is None:
            self.process = self._spawn(None)
        else:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            with self.log_file.open("ab") as log:
                self.process = self._spawn(log)
        return self.process

    def _spawn(self, log: IO[bytes] | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.argv,
            env=None if self.env is None else dict(self.env),
            stdout=log,
            stderr=None if log is None else subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=detach_and_tie_to_parent,
        )

    def exited(self) -> int | None:
        """The exit code once the process has ended; None while it runs (or before start)."""
        return None if self.process is None else self.process.poll()


def stop_all(children: list[Child], grace: float = 15.0) -> None:
    """SIGTERM every child once, wait for them, SIGKILL what is still there after `grace`."""
    running = [c.process for c in children if c.process is not None and c.process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in running:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
