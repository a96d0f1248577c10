"""The consumer loop against a real broker and PostgreSQL: exactly-once effects whatever dies.

The subject is the counting service of tests/support: it counts chat events per type and
local day; the expected counts are computed here from the generated events.
"""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.common.topics import ensure_topics
from services.devstack.postgres import EmbeddedPostgres
from tests.support.harness import (
    ServiceProcess,
    applied_ids,
    chat_stream,
    consumed,
    counting_service,
    prepare_counts_table,
    produce,
    stored_counts,
    wait_consumed,
)
from tests.support.infra import free_port, fresh_database


async def new_topic(bootstrap: str) -> str:
    topic = f"test-{uuid.uuid4().hex[:8]}.chat.events"
    await ensure_topics(bootstrap, partitions=6, names=[topic, f"{topic}.dlq"])
    return topic


async def test_sigkill_at_random_points_loses_nothing_and_counts_nothing_twice(
    kafka_bootstrap: str, engine: AsyncEngine, database_url: str
) -> None:
    topic = await new_topic(kafka_bootstrap)
    group = f"counting-{uuid.uuid4().hex[:8]}"
    stream = chat_stream(unique=45_000, duplicates=5_000, seed=7)
    total = len(stream.messages)
    await prepare_counts_table(engine)
    await produce(kafka_bootstrap, topic, stream.messages)
    service = counting_service(group, topic, free_port(), kafka_bootstrap, database_url, batch=300)
    rng = random.Random(11)
    kills = 0
    for _ in range(6):
        service.start()
        target = await consumed(engine, group) + rng.randrange(2_000, 6_000)
        await wait_consumed(engine, group, min(target, total - 500))
        await asyncio.sleep(rng.uniform(0, 0.05))
        service.kill()
        kills += 1
    service.start()
    await wait_consumed(engine, group, total)
    assert service.stop() == 0

    assert kills == 6
    assert await consumed(engine, group) == 50_000
    assert await stored_counts(engine) == stream.expected
    assert sum(stream.expected.values()) == 45_000
    assert await applied_ids(engine, group) == 45_000


async def test_two_instances_in_a_group_one_killed(
    kafka_bootstrap: str, engine: AsyncEngine, database_url: str
) -> None:
    topic = await new_topic(kafka_bootstrap)
    group = f"counting-{uuid.uuid4().hex[:8]}"
    await prepare_counts_table(engine)
    first, second = (
        counting_service(group, topic, free_port(), kafka_bootstrap, database_url) for _ in range(2)
    )
    first.start()
    second.start()
    owned = await wait_for_partitions([first, second], expected=set(range(6)))
    assert all(owned), f"both instances own partitions: {owned}"

    stream = chat_stream(unique=28_000, duplicates=2_000, seed=8)
    await produce(kafka_bootstrap, topic, stream.messages)
    await wait_consumed(engine, group, 8_000)
    first.kill()
    await wait_consumed(engine, group, 30_000)
    assert await wait_for_partitions([second], expected=set(range(6))) == [list(range(6))]
    assert second.stop() == 0

    assert await stored_counts(engine) == stream.expected
    assert await applied_ids(engine, group) == 28_000


async def test_postgres_down_mid_stream_consumer_waits_and_recovers(
    kafka_bootstrap: str, own_postgres: EmbeddedPostgres
) -> None:
    database_url = await fresh_database(own_postgres.url("postgres"))
    engine = create_async_engine(database_url, pool_pre_ping=True)
    topic = await new_topic(kafka_bootstrap)
    group = f"counting-{uuid.uuid4().hex[:8]}"
    await prepare_counts_table(engine)
    stream = chat_stream(unique=19_000, duplicates=1_000, seed=9)
    first_part, second_part = stream.messages[:12_000], stream.messages[12_000:]
    await produce(kafka_bootstrap, topic, first_part)
    service = counting_service(group, topic, free_port(), kafka_bootstrap, database_url, batch=200)
    service.start()
    await wait_consumed(engine, group, 3_000)

    await asyncio.to_thread(own_postgres.stop)
    await produce(kafka_bootstrap, topic, second_part)
    await asyncio.sleep(4)
    assert service.alive(), "the consumer must wait for the database, not exit"
    exposition = await service.metrics()
    assert metric_value(exposition, "kanava_consumer_database_retries_total", service=group) >= 1
    assert metric_sum(exposition, "kanava_consumer_lag", service=group) > 0
    await asyncio.to_thread(own_postgres.restart)

    await wait_consumed(engine, group, 20_000)
    assert service.alive()
    assert service.stop() == 0
    assert await stored_counts(engine) == stream.expected
    assert await applied_ids(engine, group) == 19_000
    await engine.dispose()


async def wait_for_partitions(
    services: list[ServiceProcess], expected: set[int], within: float = 60
) -> list[list[int]]:
    """Poll /healthz until the instances together own exactly `expected` partitions."""
    deadline = asyncio.get_running_loop().time() + within
    async with httpx.AsyncClient() as client:
        while True:
            owned: list[list[int]] = []
            for service in services:
                try:
                    response = await client.get(f"http://127.0.0.1:{service.port}/healthz")
                    owned.append(response.json()["partitions"])
                except httpx.HTTPError:
                    owned.append([])
            union = [p for parts in owned for p in parts]
            if sorted(union) == sorted(expected) and len(union) == len(expected) and all(owned):
                return owned
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"partitions owned: {owned}")
            await asyncio.sleep(0.2)


def metric_sum(exposition: str, metric: str, /, **labels: str) -> float:
    """The sum of all samples of a metric that carry the given labels."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith(metric + "{") and all(f'{k}="{v}"' in line for k, v in labels.items())
    )


def metric_value(exposition: str, metric: str, /, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for line in exposition.splitlines():
        sample = line.startswith((metric + "{", metric + " "))
        if sample and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
