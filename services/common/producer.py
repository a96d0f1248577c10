"""Producing events: a producer configured for the dev broker and any real Kafka alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer

from services.common.events import Envelope, Stream


class Sender(Protocol):
    """The producer call `publish_raw` makes: aiokafka's AIOKafkaProducer, or a fake in tests.
    Awaiting the call queues the message; awaiting its result waits for the broker's ack."""

    async def send(
        self, topic: str, *, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Awaitable[object]: ...


def new_producer(bootstrap: str, **overrides: Any) -> AIOKafkaProducer:
    """acks=all, and no idempotence: Tansu rejects it; consumers dedupe by event id instead."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": False,
        "linger_ms": 5,
        "max_batch_size": 1 << 20,
        "max_request_size": 4 << 20,
    }
    return AIOKafkaProducer(**(options | overrides))


@asynccontextmanager
async def started_producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """A producer for one piece of work (a command, a test), stopped after it."""
    producer = new_producer(bootstrap)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def encode(event: Envelope) -> bytes:
    return event.model_dump_json(exclude_none=True).encode()


async def publish(
    producer: AIOKafkaProducer, stream: Stream[Envelope], events: Iterable[Envelope]
) -> int:
    """Send events keyed as docs/events.md says and return once the broker acknowledged every
    one."""
    futures = [
        await producer.send(stream.topic, value=encode(event), key=stream.key(event))
        for event in events
    ]
    await asyncio.gather(*futures)
    return len(futures)


async def publish_raw(
    producer: Sender,
    topic: str,
    messages: Sequence[tuple[bytes | None, bytes, list[tuple[str, bytes]]]],
) -> None:
    """Send (key, value, headers) triples as they are and wait for every acknowledgement."""
    futures = [
        await producer.send(topic, value=value, key=key, headers=headers)
        for key, value, headers in messages
    ]
    await asyncio.gather(*futures)
