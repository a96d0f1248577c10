"""The pathway_metrics process end to end: Kafka in, Postgres figures and Prometheus out."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import PATHWAY
from services.common.producer import new_producer, publish
from tests.integration.test_consumer_exactness import metric_value
from tests.integration.test_pathway_metrics_store import EXPECTED, REGISTRY, daily, events
from tests.support.harness import consumer_service, wait_consumed


async def test_pathway_events_through_kafka_give_figures_and_metrics(
    own_broker: str, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    service = consumer_service("pathway_metrics", own_broker, database_url, registry)
    service.start()
    sent = events()
    producer = new_producer(own_broker)
    await producer.start()
    try:
        await publish(producer, PATHWAY, sent)
    finally:
        await producer.stop()
    await wait_consumed(engine, "pathway_metrics", len(sent))
    exposition = await service.metrics()
    assert service.stop() == 0

    assert await daily(engine) == EXPECTED
    starts = {
        ("astma", "professional"): 1,
        ("nikotiini", "self"): 2,
        ("selkee", "booking"): 1,
    }
    for (pathway_id, mode), n in starts.items():
        value = metric_value(
            exposition, "kanava_pathway_starts_total", pathway=pathway_id, start_mode=mode
        )
        assert value == n, pathway_id
    assert metric_value(exposition, "kanava_pathway_completions_total", pathway="astma") == 1
    assert metric_value(exposition, "kanava_pathway_discontinued_total", pathway="nikotiini") == 1
    active = {"astma": 0, "nikotiini": 1, "selkee": 1}
    for pathway_id, n in active.items():
        assert metric_value(exposition, "kanava_pathway_active", pathway=pathway_id) == n
    info = 'kanava_pathway_info{kind="hybrid",name="Selkee suunta",pathway="selkee"'
    assert info in exposition
