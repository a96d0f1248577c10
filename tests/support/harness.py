"""Driving the counting service as a real process: events in, process killed, results out."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.producer import encode, new_producer, publish_raw
from tests.support.chat_events import chat
from tests.support.counting_service import CREATE_TABLE
from tests.support.infra import free_port, project_root

HELSINKI = ZoneInfo("Europe/Helsinki")
Message = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


@dataclass
class ChatStream:
    """Generated chat events with duplicates, and the counts they must produce."""

    messages: list[Message] = field(default_factory=list)
    expected: Counter[tuple[str, date]] = field(default_factory=Counter)
    unique: int = 0


def chat_stream(unique: int, duplicates: int, seed: int) -> ChatStream:
    rng = random.Random(seed)
    start = datetime(2025, 11, 1, tzinfo=HELSINKI)
    stream = ChatStream()
    kinds = ["chat.queued", "chat.answered", "chat.abandoned", "chat.closed", "agent.status"]
    for n in range(unique):
        kind = rng.choice(kinds)
        moment = start + timedelta(seconds=rng.randrange(7 * 86400))
        stream.messages.append(_chat_message(f"ev-{seed}-{n}", kind, moment, f"c-{n % 997}"))
        stream.expected[(kind, moment.date())] += 1
    for _ in range(duplicates):
        position = rng.randrange(1, len(stream.messages))
        stream.messages.insert(position, stream.messages[rng.randrange(position)])
    stream.unique = unique
    return stream


def _chat_message(event_id: str, kind: str, moment: datetime, contact: str) -> Message:
    data: dict[str, Any] = {"contact_id": contact, "queue_id": "terveysasema-chat"}
    if kind == "agent.status":
        data = {"agent_id": contact, "status": "available", "capacity": 3}
    return contact.encode(), encode(chat(kind, moment, event_id, **data)), [("origin", b"test")]


async def produce(bootstrap: str, topic: str, messages: list[Message]) -> None:
    producer: AIOKafkaProducer = new_producer(bootstrap)
    await producer.start()
    try:
        for first in range(0, len(messages), 5000):
            await publish_raw(producer, topic, messages[first : first + 5000])
    finally:
        await producer.stop()


class ServiceProcess:
    """One process of a consumer service, with the short group timeouts tests need."""

    def __init__(self, argv: list[str], port: int, env: dict[str, str]) -> None:
        self.argv = [sys.executable, *argv]
        self.port = port
        self.env = (
            os.environ
            | {
                "KANAVA_SESSION_TIMEOUT_MS": "3000",
                "KANAVA_HEARTBEAT_INTERVAL_MS": "500",
                "KANAVA_LOG_LEVEL": "WARNING",
            }
            | env
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env, cwd=project_root())

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM, and the exit code once it finished its batch."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def metrics(self) -> str:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{self.port}/metrics")
            response.raise_for_status()
            return response.text


def consumer_service(
    service: str, bootstrap: str, database_url: str, registry: Path, **env: str
) -> ServiceProcess:
    """`python -m services.<service>` on a free metrics port, with the test's registry."""
    port = free_port()
    return ServiceProcess(
        ["-m", f"services.{service}"],
        port,
        {
            "KANAVA_KAFKA_BOOTSTRAP": bootstrap,
            "KANAVA_DATABASE_URL": database_url,
            f"KANAVA_{service.upper()}_METRICS_PORT": str(port),
            "KANAVA_REGISTRY_FILE": str(registry),
            **env,
        },
    )


def counting_service(
    group: str, topic: str, port: int, bootstrap: str, database_url: str, batch: int = 500
) -> ServiceProcess:
    return ServiceProcess(
        ["-m", "tests.support.counting_service", group, topic, str(port)],
        port,
        {
            "KANAVA_KAFKA_BOOTSTRAP": bootstrap,
            "KANAVA_DATABASE_URL": database_url,
            "KANAVA_BATCH_MAX_RECORDS": str(batch),
        },
    )


async def prepare_counts_table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(CREATE_TABLE))


async def consumed(engine: AsyncEngine, group: str) -> int:
    """Messages consumed and committed in Postgres (sum of next offsets of a fresh topic)."""
    async with engine.connect() as conn:
        value = await conn.scalar(
            text(
                "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets "
                "WHERE consumer_group = :g"
            ),
            {"g": group},
        )
    return int(value or 0)


async def wait_consumed(
    engine: AsyncEngine, group: str, at_least: int, within: float = 120.0
) -> int:
    deadline = time.monotonic() + within
    while (done := await consumed(engine, group)) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"consumed {done} of {at_least} within {within} s")
        await asyncio.sleep(0.05)
    return done


async def stored_counts(engine: AsyncEngine) -> Counter[tuple[str, date]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT event_type, day, n FROM event_counts"))
        return Counter({(row.event_type, row.day): row.n for row in rows})


async def applied_ids(engine: AsyncEngine, group: str) -> int:
    async with engine.connect() as conn:
        value = await conn.scalar(
            text("SELECT count(*) FROM applied_events WHERE consumer_group = :g"), {"g": group}
        )
    return int(value or 0)
