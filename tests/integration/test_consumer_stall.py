"""A batch the service cannot read stalls it without killing it or skipping anything.

The service process runs with the lz4 codec switched off while a flag file exists (a
`sitecustomize` makes aiokafka's `has_lz4()` answer False, which is how a missing codec
library shows). librdkafka's producer (confluent-kafka) writes the lz4 batch.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Producer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import CHAT
from services.common.producer import encode
from tests.integration.test_chat_metrics_service import chat_metrics, send
from tests.integration.test_chat_metrics_store import REGISTRY
from tests.integration.test_consumer_exactness import metric_value
from tests.integration.test_dead_letters import read_all
from tests.support.chat_events import chat
from tests.support.harness import ServiceProcess, wait_consumed
from tests.support.infra import project_root

SITECUSTOMIZE = """
import os
from aiokafka import codec

_has_lz4 = codec.has_lz4
codec.has_lz4 = lambda: _has_lz4() and not os.path.exists(os.environ["KANAVA_TEST_LZ4_OFF"])
"""


class Lz4Switch:
    """The environment that lets a test switch lz4 off and on in a process it starts."""

    def __init__(self, folder: Path) -> None:
        (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
        self.flag = folder / "lz4-off"
        self.env = {"PYTHONPATH": str(folder), "KANAVA_TEST_LZ4_OFF": str(self.flag)}

    def off(self) -> None:
        self.flag.touch()

    def on(self) -> None:
        self.flag.unlink()


@pytest.fixture
def lz4(tmp_path: Path) -> Lz4Switch:
    folder = tmp_path / "inject"
    folder.mkdir()
    switch = Lz4Switch(folder)
    switch.off()
    return switch


def stalled_service(bootstrap: str, database_url: str, tmp_path: Path, lz4: Lz4Switch) -> Any:
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    service: ServiceProcess = chat_metrics(bootstrap, database_url, registry)
    service.env |= lz4.env | {"KANAVA_STALL_RETRY_MAX_SECONDS": "1"}
    return service


def minutes_ago(minutes: float) -> datetime:
    """Recent times: the service's sweep abandons clients waiting for hours."""
    return datetime.now(UTC) - timedelta(minutes=minutes)


def one_contact() -> list[Any]:
    return [
        chat("chat.queued", minutes_ago(10), contact_id="stuck", queue_id="q1"),
        chat("chat.answered", minutes_ago(9), contact_id="stuck", queue_id="q1"),
        chat("chat.closed", minutes_ago(8), contact_id="stuck", resolved=True),
    ]


def others() -> list[Any]:
    return [
        chat("chat.queued", minutes_ago(20 - n), contact_id=f"other-{n}", queue_id="q2")
        for n in range(5)
    ]


def produce_lz4_batch(bootstrap: str, events: list[Any]) -> tuple[int, list[int]]:
    """One lz4 batch through librdkafka (one key, so one partition); its partition and offsets."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "compression.type": "lz4",
            "enable.idempotence": False,
            "linger.ms": 200,
        }
    )
    delivered: list[tuple[int, int]] = []

    def on_delivery(error: Any, message: Any) -> None:
        assert error is None, error
        delivered.append((message.partition(), message.offset()))

    for event in events:
        producer.produce(CHAT.topic, encode(event), key=b"stuck", on_delivery=on_delivery)
    assert producer.flush(30) == 0
    assert len({partition for partition, _ in delivered}) == 1
    return delivered[0][0], sorted(offset for _, offset in delivered)


async def health(service: ServiceProcess) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{service.port}/healthz")
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def wait_health(service: ServiceProcess, status: int, within: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        code, body = await health(service)
        if code == status:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"/healthz still {code}: {body}")
        await asyncio.sleep(0.2)


async def processed(service: ServiceProcess) -> float:
    return metric_value(
        await service.metrics(),
        "kanava_consumer_events_total",
        service="chat_metrics",
        outcome="processed",
    )


async def stall(service: ServiceProcess, bootstrap: str, engine: AsyncEngine) -> tuple[int, int]:
    """Five readable events, then the lz4 batch; waits until the service says it is stalled."""
    service.start()
    await send(bootstrap, others())
    await wait_consumed(engine, "chat_metrics", 5)
    partition, offsets = produce_lz4_batch(bootstrap, one_contact())
    body = await wait_health(service, 503)
    assert body["status"] == "stalled"
    assert body["stalled"]["reason"] == "unsupported_codec"
    assert "lz4" in body["stalled"]["detail"]
    assert offsets == list(range(offsets[0], offsets[0] + 3))
    assert body["stalled"]["stuck_at"] == {str(partition): offsets[0]}
    return partition, offsets[0]


def stalled_gauge(exposition: str) -> float:
    return metric_value(
        exposition, "kanava_consumer_stalled", service="chat_metrics", reason="unsupported_codec"
    )


async def test_unreadable_batch_stalls_the_service_which_resumes_once_the_codec_is_back(
    own_broker: str, engine: AsyncEngine, database_url: str, tmp_path: Path, lz4: Lz4Switch
) -> None:
    service = stalled_service(own_broker, database_url, tmp_path, lz4)
    try:
        await stall(service, own_broker, engine)
        await asyncio.sleep(3)  # several tries at the 1 s backoff: still stalled, still up
        assert service.alive()
        assert (await health(service))[0] == 503
        exposition = await service.metrics()
        assert stalled_gauge(exposition) == 1
        assert await processed(service) == 5

        lz4.on()
        await wait_consumed(engine, "chat_metrics", 8)
        await wait_health(service, 200)
        exposition = await service.metrics()
        assert stalled_gauge(exposition) == 0
        assert await processed(service) == 8
    finally:
        assert service.stop() == 0
    async with engine.connect() as conn:
        visits = await conn.execute(
            text("SELECT contact_id, outcome FROM chat_visits ORDER BY contact_id")
        )
        assert [tuple(row) for row in visits] == [
            *((f"other-{n}", "waiting") for n in range(5)),
            ("stuck", "answered"),
        ]


def skip_records(
    *args: str, env: dict[str, str], answer: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "skip-records", *args],
        env=env,
        cwd=project_root(),
        input=answer,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_skip_records_dead_letters_what_cannot_be_read_and_the_service_goes_on(
    own_broker: str, engine: AsyncEngine, database_url: str, tmp_path: Path, lz4: Lz4Switch
) -> None:
    service = stalled_service(own_broker, database_url, tmp_path, lz4)
    env = service.env
    try:
        partition, first = await stall(service, own_broker, engine)
        where = ["chat_metrics", str(partition)]

        wrong = skip_records(*where, "--from", str(first + 1), "--to", str(first + 2), env=env)
        assert wrong.returncode == 1
        assert wrong.stderr.strip() == (
            f"kanava skip-records: chat_metrics reads chat.events/{partition} from offset "
            f"{first}, not {first + 1}: name a range that starts there"
        )
        refused = skip_records(
            *where, "--from", str(first), "--to", str(first + 2), env=env, answer="no\n"
        )
        assert refused.returncode == 1
        assert "not confirmed; nothing changed" in refused.stdout

        done = skip_records(*where, "--from", str(first), "--to", str(first + 2), "--yes", env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith(
            f"3 records of chat.events/{partition} ({first}-{first + 2}) dead-lettered, 3 of "
            f"them unreadable; chat_metrics goes on from offset {first + 3} at its next try"
        )
        await wait_health(service, 200)
        await send(
            own_broker, [chat("chat.queued", minutes_ago(1), contact_id="after", queue_id="q1")]
        )
        await wait_consumed(engine, "chat_metrics", 9)
        assert await processed(service) == 6
    finally:
        assert service.stop() == 0

    [(_, _, value, headers)] = await read_all(own_broker, "chat.events.dlq", 1)
    assert value == b""
    assert {k: v.decode() for k, v in headers.items()} == {
        "kanava-error": "unreadable",
        "kanava-error-detail": f"offsets {first}-{first + 2} could not be read",
        "kanava-service": "chat_metrics",
        "kanava-original-topic": "chat.events",
        "kanava-original-partition": str(partition),
        "kanava-original-offset": str(first),
        "kanava-original-last-offset": str(first + 2),
    }
