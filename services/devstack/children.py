"""Child processes of the dev stack: each in its own process group, tied to the launcher's life."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

_PR_SET_PDEATHSIG = 1


def detach_and_tie_to_parent() -> None:
    """Own process group, so a terminal's Ctrl-C reaches only the launcher (which stops the
    children once, gracefully); SIGTERM from the kernel if the launcher itself dies."""
    os.setpgrp()
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            self.argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            preexec_fn=detach_and_tie_to_parent,
        )

    def exited(self) -> int | None:
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
