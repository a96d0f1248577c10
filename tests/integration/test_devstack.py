"""`kanava up` as a new user runs it: embedded broker and database, topics, migrations,
the simulator; everything it started is gone after SIGTERM; a taken port is a clear message;
a killed service, or the broker, comes back; one dev token is live at a time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.common.db import MIGRATIONS
from services.common.events import CHAT
from services.common.producer import new_producer
from services.common.topics import topic_names
from services.devstack.monitoring import CONSUMERS
from tests.support.harness import wait_consumed
from tests.support.infra import free_port, project_root


@pytest.fixture
def up_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANAVA_")}
    return env | {
        "KANAVA_DATA_DIR": str(tmp_path / "data"),
        "KANAVA_DEV_BROKER_PORT": str(free_port()),
        "KANAVA_TOPIC_PARTITIONS": "3",
        "KANAVA_CHAT_METRICS_METRICS_PORT": str(free_port()),
        "KANAVA_FEEDBACK_INGEST_METRICS_PORT": str(free_port()),
        "KANAVA_CONTACT_METRICS_METRICS_PORT": str(free_port()),
        "KANAVA_PATHWAY_METRICS_METRICS_PORT": str(free_port()),
        "KANAVA_GATEWAY_PORT": str(free_port()),
        "KANAVA_PROMETHEUS_PORT": str(free_port()),
        "KANAVA_ALERTMANAGER_PORT": str(free_port()),
    }


Launch = Callable[[list[str]], subprocess.Popen[str]]


def simulating(backfill_days: int, speed: float) -> list[str]:
    return ["--simulate", "--backfill-days", str(backfill_days), "--speed", str(speed)]


@pytest.fixture
def launch(up_env: dict[str, str]) -> Iterator[Launch]:
    """Starts `kanava up` with these arguments; stops what a failed test left."""
    started: list[subprocess.Popen[str]] = []

    def start(arguments: list[str]) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up", *arguments],
            env=up_env,
            cwd=project_root(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
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


async def first_chat_events(bootstrap: str, count: int, idle_ms: int = 500) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        CHAT.topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + 60
        while len(values) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=idle_ms)
            if not batch and values:
                break  # the topic has been quiet for idle_ms
            values += [r.value for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    return values


def test_up_starts_the_stack_and_sigterm_leaves_nothing_behind(
    launch: Launch, up_env: dict[str, str]
) -> None:
    launcher = launch(simulating(3, 60))  # three days hold a weekday, whatever day the test runs
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

    for service in ("chat_metrics", "pathway_metrics", "feedback_ingest", "contact_metrics"):
        port = up_env[f"KANAVA_{service.upper()}_METRICS_PORT"]
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["service"] == service
    gateway = f"http://127.0.0.1:{up_env['KANAVA_GATEWAY_PORT']}"
    token = re.search(r"dev token\s+(kanava_\S+)", output)
    assert token is not None, output
    queues = get_when_up(f"{gateway}/v1/chat/queues", f"Bearer {token.group(1)}")
    assert queues.status_code == 200
    assert {q["queue_id"] for q in queues.json()["queues"]} >= {"terveysasema-chat"}
    prometheus = f"http://127.0.0.1:{up_env['KANAVA_PROMETHEUS_PORT']}"
    assert f"Prometheus       {prometheus}" in output
    assert httpx.get(f"{prometheus}/-/ready").status_code == 200
    ports = {f"kanava-{s}": up_env[f"KANAVA_{s.upper()}_METRICS_PORT"] for s in CONSUMERS}
    ports["kanava-gateway"] = up_env["KANAVA_GATEWAY_PORT"]
    assert {(t["labels"]["job"], t["scrapeUrl"]) for t in active_targets(prometheus)} == {
        (job, f"http://127.0.0.1:{port}/metrics") for job, port in ports.items()
    }
    alertmanager = f"http://127.0.0.1:{up_env['KANAVA_ALERTMANAGER_PORT']}"
    assert httpx.get(f"{alertmanager}/-/ready").status_code == 200
    started = started_processes(launcher.pid, pgdata)
    assert len(started) >= 8, "broker, postgres, simulator, gateway and four services at least"
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(timeout=60) == 0
    time.sleep(0.5)
    left = [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert left == []


def test_a_restarted_stack_reads_its_new_empty_broker_from_the_start(
    launch: Launch, up_env: dict[str, str]
) -> None:
    """Tansu keeps topics in memory: offsets stored by the first run point past the ends of
    the second run's topics (one day of history instead of three) and must not be used."""
    first = launch(simulating(3, 60))
    read_until(first, "Ctrl-C stops everything")
    pgdata = Path(up_env["KANAVA_DATA_DIR"]) / "pgdata"
    asyncio.run(committed_offsets(pgdata, at_least=1))
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=60) == 0

    second = launch(simulating(1, 0.001))  # about no real-time events: the topic goes quiet
    read_until(second, "Ctrl-C stops everything")
    bootstrap = f"127.0.0.1:{up_env['KANAVA_DEV_BROKER_PORT']}"
    in_topic = len(asyncio.run(first_chat_events(bootstrap, 10**9, idle_ms=3000)))
    committed = asyncio.run(committed_offsets(pgdata, at_least=in_topic))
    # a few real-time events may come after the quiet spell; the first run's offsets would
    # point past the ends of this run's topic
    in_topic_now = len(asyncio.run(first_chat_events(bootstrap, 10**9, idle_ms=3000)))
    assert in_topic <= committed <= in_topic_now
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=60) == 0


def active_targets(prometheus: str, within: float = 30) -> list[dict[str, Any]]:
    """Prometheus's active targets, once its first discovery has filled them in (ready comes
    before that)."""
    deadline = time.monotonic() + within
    while True:
        targets: list[dict[str, Any]] = httpx.get(f"{prometheus}/api/v1/targets").json()["data"][
            "activeTargets"
        ]
        if targets or time.monotonic() > deadline:
            return targets
        time.sleep(0.2)


def get_when_up(url: str, authorization: str, within: float = 30) -> httpx.Response:
    """GET once the server listens (a child may still be starting when the stack says up)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return httpx.get(url, headers={"Authorization": authorization})
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def healthy(service: str, up_env: dict[str, str], within: float = 30) -> bool:
    """Whether the service answers 200 on its /healthz within `within` seconds."""
    url = f"http://127.0.0.1:{up_env[f'KANAVA_{service.upper()}_METRICS_PORT']}/healthz"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            response = httpx.get(url)
            if response.status_code == 200 and response.json()["service"] == service:
                return True
        time.sleep(0.2)
    return False


def child_running(launcher: subprocess.Popen[str], command_part: str) -> psutil.Process:
    """The launcher's one child whose command line contains `command_part`."""
    found = [
        child
        for child in psutil.Process(launcher.pid).children()
        if child.status() != psutil.STATUS_ZOMBIE and command_part in " ".join(child.cmdline())
    ]
    assert len(found) == 1, found
    return found[0]


def stop_leaves_nothing(launcher: subprocess.Popen[str], pgdata: Path) -> str:
    """SIGTERM the launcher: it ends cleanly and nothing it started is left; its last output."""
    started = started_processes(launcher.pid, pgdata)
    launcher.send_signal(signal.SIGTERM)
    rest, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 0, rest
    time.sleep(0.5)
    assert [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    return rest


def stack_engine(pgdata: Path) -> AsyncEngine:
    """The stack's embedded database, through its socket in the data folder."""
    return create_async_engine(f"postgresql+asyncpg://postgres@/kanava?host={pgdata}")


async def committed_offsets(pgdata: Path, at_least: int) -> int:
    """chat_metrics' committed offsets in the stack's database, once they reach `at_least`."""
    engine = stack_engine(pgdata)
    try:
        return await wait_consumed(engine, "chat_metrics", at_least)
    finally:
        await engine.dispose()


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
    engine = stack_engine(pgdata)
    try:
        async with engine.connect() as conn:
            return str(await conn.scalar(text("SELECT version_num FROM alembic_version")))
    finally:
        await engine.dispose()


def run_up(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`kanava up` expected to stop at once with an error."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "up"],
        env=env,
        cwd=project_root(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_taken_port_is_a_clear_message_not_a_traceback(up_env: dict[str, str]) -> None:
    port = int(up_env["KANAVA_DEV_BROKER_PORT"])
    with socket.create_server(("127.0.0.1", port)):
        result = run_up(up_env)
    assert result.returncode == 2
    assert f"Kafka broker: port {port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_an_unreachable_database_is_a_clear_message_without_its_password(
    up_env: dict[str, str],
) -> None:
    port = free_port()  # nothing listens there
    env = up_env | {"KANAVA_DATABASE_URL": f"postgresql+asyncpg://kanava:s3cret@127.0.0.1:{port}/k"}
    result = run_up(env)
    assert result.returncode == 2
    assert (
        f"cannot migrate the database at postgresql+asyncpg://kanava:***@127.0.0.1:{port}/k"
        in result.stderr
    )
    assert "s3cret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_a_killed_service_is_restarted_once_and_sigterm_still_leaves_nothing_behind(
    launch: Launch, up_env: dict[str, str]
) -> None:
    launcher = launch([])
    read_until(launcher, "Ctrl-C stops everything")
    assert healthy("chat_metrics", up_env)
    killed = child_running(launcher, "services.chat_metrics")
    killed.kill()

    output = read_until(launcher, "restarting in")
    assert (
        "kanava up: chat_metrics exited with code -9 (killed by SIGKILL); "
        "restarting in 1 s (restart 1)"
    ) in output.splitlines()
    assert healthy("chat_metrics", up_env, within=20)
    assert child_running(launcher, "services.chat_metrics").pid != killed.pid
    rest = stop_leaves_nothing(launcher, Path(up_env["KANAVA_DATA_DIR"]) / "pgdata")
    assert "restarting in" not in rest


async def send_again(bootstrap: str, values: list[bytes]) -> None:
    producer = new_producer(bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send(CHAT.topic, value)
        await producer.flush()
    finally:
        await producer.stop()


def test_a_killed_broker_comes_back_empty_and_the_services_read_it_from_the_start(
    launch: Launch, up_env: dict[str, str]
) -> None:
    """Before the kill, events sent again (duplicates: counted once) take the stored offsets
    past the end the restarted broker's topic will have: they must be forgotten."""
    # Three days hold a weekday's chats; about no real-time events: the topic goes quiet.
    launcher = launch(simulating(3, 0.001))
    read_until(launcher, "simulator: backfilled", limit=120)
    port = up_env["KANAVA_DEV_BROKER_PORT"]
    bootstrap, pgdata = f"127.0.0.1:{port}", Path(up_env["KANAVA_DATA_DIR"]) / "pgdata"
    before = asyncio.run(first_chat_events(bootstrap, 10**9, idle_ms=3000))
    asyncio.run(send_again(bootstrap, before[: len(before) // 2]))
    ahead = len(before) + len(before) // 2
    assert asyncio.run(committed_offsets(pgdata, at_least=ahead)) == ahead
    child_running(launcher, f"tcp://127.0.0.1:{port}").kill()

    output = read_until(launcher, "simulator: backfilled", limit=120)
    assert (
        "kanava up: Kafka broker (Tansu) exited with code -9 (killed by SIGKILL); "
        "restarting in 1 s (restart 1); it keeps its topics in memory, so it comes back empty "
        "(events not yet consumed are lost) and the stored offsets are forgotten; "
        "chat_metrics, pathway_metrics, feedback_ingest, contact_metrics, gateway, simulator "
        "stop until it is back"
    ) in output.splitlines()
    assert asyncio.run(list_topics(bootstrap)) >= set(topic_names())
    in_topic = len(asyncio.run(first_chat_events(bootstrap, 10**9, idle_ms=3000)))
    assert 0 < in_topic < ahead
    assert asyncio.run(committed_offsets(pgdata, at_least=in_topic)) == in_topic
    assert all(healthy(service, up_env) for service in CONSUMERS)
    rest = stop_leaves_nothing(launcher, pgdata)
    assert (output + rest).count("restarting in") == 1


def dev_token(output: str) -> str:
    found = re.search(r"dev token\s+(kanava_\S+)", output)
    assert found is not None, output
    return found.group(1)


async def dev_tokens(pgdata: Path) -> list[tuple[str, bool]]:
    """(token id, revoked) of every dev token `kanava up` created, oldest first."""
    engine = stack_engine(pgdata)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT token_id, revoked_at IS NOT NULL AS revoked FROM api_tokens "
                    "WHERE name = 'dev (kanava up)' ORDER BY created_at"
                )
            )
            return [(row.token_id, row.revoked) for row in rows]
    finally:
        await engine.dispose()


def test_a_second_start_revokes_the_first_dev_token(launch: Launch, up_env: dict[str, str]) -> None:
    pgdata = Path(up_env["KANAVA_DATA_DIR"]) / "pgdata"
    first = launch([])
    first_token = dev_token(read_until(first, "Ctrl-C stops everything"))
    stop_leaves_nothing(first, pgdata)

    second = launch([])
    second_token = dev_token(read_until(second, "Ctrl-C stops everything"))
    queues = f"http://127.0.0.1:{up_env['KANAVA_GATEWAY_PORT']}/v1/chat/queues"
    assert get_when_up(queues, f"Bearer {second_token}").status_code == 200
    assert get_when_up(queues, f"Bearer {first_token}").status_code == 401
    first_id, second_id = (token.split("_")[1] for token in (first_token, second_token))
    assert asyncio.run(dev_tokens(pgdata)) == [(first_id, True), (second_id, False)]
    stop_leaves_nothing(second, pgdata)
