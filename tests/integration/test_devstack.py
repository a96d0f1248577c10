"""`kanava up` as a new user runs it: embedded broker and database, topics, migrations,
the simulator; everything it started is gone after SIGTERM; a taken port is a clear message."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from alembic.config import Config
from alembic.script import ScriptDirectory

from services.common.db import MIGRATIONS
from services.common.events import CHAT
from services.common.topics import topic_names
from tests.support.infra import free_port, project_root


@pytest.fixture
def up_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANAVA_")}
    return env | {
        "KANAVA_DATA_DIR": str(tmp_path / "data"),
        "KANAVA_DEV_BROKER_PORT": str(free_port()),
        "KANAVA_TOPIC_PARTITIONS": "3",
        "KANAVA_CHAT_METRICS_METRICS_PORT": str(free_port()),
    }


@pytest.fixture
def launcher(up_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "up",
            "--simulate",
            "--backfill-days",
            "1",
            "--speed",
            "60",
        ],
        env=up_env,
        cwd=project_root(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    if process.poll() is None:  # a failed test: stop the stack the way a user would
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def read_until(process: subprocess.Popen[str], marker: str, limit: float = 60) -> str:
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} in output:\n{''.join(seen)}")


async def list_topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def first_chat_events(bootstrap: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        CHAT.topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + 60
        while len(values) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            values += [r.value for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    return values


def test_up_starts_the_stack_and_sigterm_leaves_nothing_behind(
    launcher: subprocess.Popen[str], up_env: dict[str, str]
) -> None:
    output = read_until(launcher, "Ctrl-C stops everything")
    bootstrap = f"127.0.0.1:{up_env['KANAVA_DEV_BROKER_PORT']}"
    assert f"Kafka broker     {bootstrap} (Tansu, in memory)" in output
    assert "(embedded)" in output
    pgdata = Path(up_env["KANAVA_DATA_DIR"]) / "pgdata"

    assert asyncio.run(list_topics(bootstrap)) >= set(topic_names())
    assert asyncio.run(schema_revision(pgdata)) == head_revision()
    events = asyncio.run(first_chat_events(bootstrap, 50))
    assert len(events) >= 50
    now = datetime.now(UTC)
    parsed = [CHAT.parse(value, now, timedelta(hours=1)) for value in events]
    assert {event.type for event in parsed} & {"chat.queued", "agent.status", "chat.started"}

    health = httpx.get(f"http://127.0.0.1:{up_env['KANAVA_CHAT_METRICS_METRICS_PORT']}/healthz")
    assert health.json()["service"] == "chat_metrics"
    started = started_processes(launcher.pid, pgdata)
    assert len(started) >= 4, "broker, chat_metrics, simulator and postgres at least"
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(timeout=60) == 0
    time.sleep(0.5)
    left = [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert left == []


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def started_processes(launcher_pid: int, pgdata: Path) -> list[psutil.Process]:
    children = psutil.Process(launcher_pid).children(recursive=True)
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    return [*children, psutil.Process(postmaster)]


async def schema_revision(pgdata: Path) -> str:
    uri_dir = pgdata
    conn = await asyncpg.connect(host=str(uri_dir), user="postgres", database="kanava")
    try:
        revision: str = await conn.fetchval("SELECT version_num FROM alembic_version")
        return revision
    finally:
        await conn.close()


def test_a_taken_port_is_a_clear_message_not_a_traceback(up_env: dict[str, str]) -> None:
    port = int(up_env["KANAVA_DEV_BROKER_PORT"])
    with socket.create_server(("127.0.0.1", port)):
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", "up"],
            env=up_env,
            cwd=project_root(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"Kafka broker: port {port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
