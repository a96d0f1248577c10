"""What a benchmark starts and always stops: a Tansu broker on a free port, an embedded
PostgreSQL in a temporary folder, and the consumer service process under test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil

from services.common.db import migrate
from services.common.settings import PROJECT_ROOT
from services.common.topics import ensure_topics
from services.devstack.broker import start_tansu
from services.devstack.postgres import DATABASE, EmbeddedPostgres

DEMO_REGISTRY = PROJECT_ROOT / "infra" / "registry" / "demo.yaml"


@dataclass(frozen=True)
class Infra:
    bootstrap: str
    database_url: str
    socket_dir: str
    workdir: Path
    broker_pid: int
    pgdata: Path

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(host=self.socket_dir, user="postgres", database=DATABASE)

    def cpu_seconds(self) -> dict[str, dict[int, float]]:
        """CPU time (user+system) so far of each process of the broker and of PostgreSQL."""
        postmaster = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        return {"Tansu": _tree_cpu(self.broker_pid), "PostgreSQL": _tree_cpu(postmaster)}


def _tree_cpu(pid: int) -> dict[int, float]:
    seconds: dict[int, float] = {}
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                seconds[process.pid] = times.user + times.system
    return seconds


def cpu_used(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
) -> dict[str, float]:
    """CPU seconds each part used between two `Infra.cpu_seconds()` (new processes from 0)."""
    return {
        part: sum(cpu - before.get(part, {}).get(pid, 0.0) for pid, cpu in processes.items())
        for part, processes in after.items()
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def infrastructure(partitions: int, keep: Path | None = None) -> Iterator[Infra]:
    """Broker, database (migrated) and topics; everything is stopped on the way out."""
    with contextlib.ExitStack() as stack:
        if keep is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kanava-bench-")))
        else:
            workdir = keep
            workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        broker = start_tansu(port, workdir / "tansu.log")
        stack.callback(stop_process, broker, 5.0)
        postgres = EmbeddedPostgres(workdir)
        stack.callback(postgres.stop)
        url = postgres.start()
        migrate(url)
        bootstrap = f"127.0.0.1:{port}"
        asyncio.run(ensure_topics(bootstrap, partitions))
        yield Infra(bootstrap, url, postgres.socket_dir, workdir, broker.pid, postgres.pgdata)


@contextlib.contextmanager
def embedded_database(prefix: str) -> Iterator[str]:
    """An embedded PostgreSQL alone, in a temporary folder, migrated: its URL; stopped and
    removed on the way out."""
    with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
        server = EmbeddedPostgres(Path(workdir))
        url = server.start()
        try:
            migrate(url)
            yield url
        finally:
            server.stop()


def stop_process(process: subprocess.Popen[bytes], grace: float) -> int:
    """SIGTERM, then SIGKILL after `grace` seconds; the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def _py_spy(pid: int, out: Path, logs: Path) -> subprocess.Popen[bytes]:
    """py-spy recording `pid` with idle frames too, as collapsed stacks into `out`."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    argv = [binary, "record", "--pid", str(pid), "--idle", "--format", "raw", "-o", str(out)]
    with (logs / "py-spy.log").open("ab") as log:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, process_group=0
        )


class ServiceProcess:
    """`python -m services.<name>` (a consumer service whose consumer group is `name`,
    reading `topic`) against the benchmark's broker and database, optionally under cProfile
    (the profile is written when the process exits) or sampled by py-spy. `port_variable`
    names the setting of its HTTP port (default its metrics port); `log_name` tells apart
    the logs of several instances."""

    def __init__(
        self,
        infra: Infra,
        name: str,
        topic: str,
        batch: int | None = None,
        profile: Path | None = None,
        py_spy: Path | None = None,
        port_variable: str | None = None,
        log_name: str | None = None,
    ) -> None:
        self.name = name
        self.topic = topic
        self.port = free_port()
        self.py_spy = py_spy
        self.sampler: subprocess.Popen[bytes] | None = None
        self.log_file = infra.workdir / f"{log_name or name}.log"
        self.profile = profile
        module = ["-m", f"services.{name}"]
        prefix = ["-m", "cProfile", "-o", str(profile)] if profile else []
        self.argv = [sys.executable, *prefix, *module]
        self.env = os.environ | {
            "KANAVA_KAFKA_BOOTSTRAP": infra.bootstrap,
            "KANAVA_DATABASE_URL": infra.database_url,
            port_variable or f"KANAVA_{name.upper()}_METRICS_PORT": str(self.port),
            "KANAVA_REGISTRY_FILE": str(DEMO_REGISTRY),
            "KANAVA_LOG_LEVEL": "WARNING",
        }
        if batch is not None:
            self.env["KANAVA_BATCH_MAX_RECORDS"] = str(batch)
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.exit_code: int | None = None
        """Once stopped: how the process ended (None if it never started)."""

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self.started_at = time.monotonic()
            # Own process group: a terminal's Ctrl-C reaches the benchmark, which stops this.
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
        if self.py_spy is not None:
            self.sampler = _py_spy(self.process.pid, self.py_spy, self.log_file.parent)

    def stop_sampling(self) -> None:
        """Stop py-spy (SIGINT makes it write its file)."""
        if self.sampler is not None and self.sampler.poll() is None:
            self.sampler.send_signal(signal.SIGINT)
            self.sampler.wait(timeout=60)

    def stop(self, grace: float = 30.0) -> int | None:
        self.stop_sampling()
        if self.process is not None:
            self.exit_code = stop_process(self.process, grace)
        return self.exit_code

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            tail = self.log_file.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} is not running; its log ends with:\n{tail}")

    @property
    def _ps(self) -> psutil.Process:
        assert self.process is not None
        return psutil.Process(self.process.pid)

    def cpu_seconds(self) -> float:
        times = self._ps.cpu_times()
        return float(times.user + times.system)

    def rss_bytes(self) -> int:
        return int(self._ps.memory_info().rss)

    def peak_rss_bytes(self) -> int:
        """VmHWM: the highest resident set size the process has had."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"
