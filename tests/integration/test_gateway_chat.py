"""GET /v1/chat/stats and /v1/chat/queues over what chat_metrics stored, with auth and limits.
Expected values worked out by hand from the scenario of test_chat_stories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.chat_metrics.exports import ChatExports
from services.chat_metrics.queues import QueueRules
from services.chat_metrics.service import ChatMetrics
from services.common.events import ChatEvent
from services.common.registry import load_registry
from tests.integration.test_chat_metrics_store import REGISTRY, WAIT
from tests.support.apply import apply_batch
from tests.support.chat_events import chat, scenario
from tests.support.gateway import gateway, token

DAY = "from=2025-11-03&to=2025-11-03"
TOTAL = {
    "period": "total",
    "queue_id": None,
    "offered": 6,
    "answered": 3,
    "abandoned": 2,
    "short_abandoned": 1,
    "transferred_out": 1,
    "service_level": 0.5,  # 2 within 60 s / (3 + 2 - 1)
    "service_level_seconds": 60,
    "abandon_rate": 0.25,  # (2 - 1) / 4
    "asa_seconds": 55.0,  # (45 + 90 + 30) / 3
    "wait_p90_seconds": 81.0,  # 45 + 0.8 x (90 - 45), waits 30, 45, 90
    "aht_seconds": 640.0,  # (600 + 600 + 720) / 3
    "resolved_rate": 0.5,
    "bot_sessions": 2,
    "bot_resolved": 1,
    "bot_handovers": 1,
}


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    return path


async def stored(engine: AsyncEngine, registry: Path, events: list[ChatEvent]) -> None:
    rules = QueueRules(load_registry(registry), ZoneInfo("Europe/Helsinki"))
    await apply_batch(engine, ChatMetrics(rules, ChatExports(WAIT)), events)


async def test_stats_of_a_day_worked_by_hand(engine: AsyncEngine, registry: Path) -> None:
    await stored(engine, registry, scenario())
    reader = await token(engine)
    async with gateway(engine, registry) as client:
        total = await client.get(f"/v1/chat/stats?{DAY}&granularity=total", headers=reader)
        by_queue = await client.get(f"/v1/chat/stats?{DAY}&by=queue", headers=reader)
    assert total.status_code == 200
    assert total.json() == {"rows": [TOTAL]}
    q1, q2 = by_queue.json()["rows"]
    assert (q1["period"], q1["queue_id"], q2["queue_id"]) == ("2025-11-03", "q1", "q2")
    assert q1["service_level"] == pytest.approx(1 / 3)
    assert q1["wait_p90_seconds"] == pytest.approx(85.5)  # 45 + 0.9 x (90 - 45)
    assert (q1["aht_seconds"], q1["resolved_rate"], q1["bot_sessions"]) == (600, 0.5, None)
    assert (q2["service_level"], q2["asa_seconds"], q2["resolved_rate"]) == (1, 30, None)


async def test_a_limited_token_sees_only_its_units(engine: AsyncEngine, registry: Path) -> None:
    await stored(engine, registry, scenario())
    own = await token(engine, units=["u"])
    by_area = await token(engine, service_areas=["sa"])
    other = await token(engine, units=["elsewhere"])
    async with gateway(engine, registry) as client:
        mine = await client.get(f"/v1/chat/stats?{DAY}&granularity=total", headers=own)
        area = await client.get(f"/v1/chat/stats?{DAY}&granularity=total", headers=by_area)
        none = await client.get(f"/v1/chat/stats?{DAY}", headers=other)
        queues = await client.get("/v1/chat/queues", headers=other)
        forbidden = await client.get(f"/v1/chat/stats?{DAY}&queue_id=q1", headers=other)
    row = mine.json()["rows"][0]
    assert (row["offered"], row["bot_sessions"], row["bot_resolved"]) == (6, None, None)
    assert area.json() == mine.json()
    assert none.json() == {"rows": []}
    assert queues.json()["queues"] == []
    assert forbidden.status_code == 404
    assert forbidden.json()["error"] == "unknown_queue"


async def test_queues_now(engine: AsyncEngine, registry: Path) -> None:
    now = datetime.now(UTC)
    waiting = [
        chat("chat.queued", now - timedelta(seconds=90), contact_id="w1", queue_id="q1"),
        chat("chat.queued", now - timedelta(seconds=30), contact_id="w2", queue_id="q1"),
        chat("agent.status", now, agent_id="a1", status="available", queue_ids=["q1", "q2"]),
        chat("agent.status", now, agent_id="a2", status="available", queue_ids=["q1"], capacity=3),
        chat("agent.status", now, agent_id="a3", status="away", queue_ids=["q1"]),
    ]
    await stored(engine, registry, waiting)
    async with gateway(engine, registry) as client:
        response = await client.get("/v1/chat/queues", headers=await token(engine))
    queues = {q["queue_id"]: q for q in response.json()["queues"]}
    assert set(queues) == {"q1", "q2", "day-queue"}
    q1 = queues["q1"]
    assert (q1["waiting"], q1["active"], q1["agents_available"], q1["capacity_slots"]) == (
        2,
        0,
        2,
        4,
    )
    assert 90 <= q1["oldest_wait_seconds"] < 150
    assert (queues["q2"]["agents_available"], queues["q2"]["capacity_slots"]) == (1, 1)
    assert q1["name"] == "Queue 1"


@pytest.mark.parametrize(
    ("path", "headers", "status", "error"),
    [
        ("/v1/chat/stats", None, 401, "unauthorized"),
        ("/v1/chat/stats", {"Authorization": "Bearer kanava_nope"}, 401, "unauthorized"),
        ("/v1/chat/stats?from=2025-11-04&to=2025-11-03", "read", 422, "invalid_range"),
        ("/v1/chat/stats?from=2020-01-01&to=2025-11-03", "read", 422, "invalid_range"),
        ("/v1/chat/stats?to=0001-01-01", "read", 422, "invalid_range"),
        ("/v1/chat/stats?from=9999-12-31", "read", 422, "invalid_range"),
        ("/v1/chat/stats?granularity=week", "read", 422, "invalid_request"),
        ("/v1/chat/stats?from=yesterday", "read", 422, "invalid_request"),
        ("/v1/chat/stats?queue_id=%00", "read", 422, "invalid_request"),
        ("/v1/chat/stats", "ingest", 403, "forbidden"),
        ("/v1/nowhere", "read", 404, "not_found"),
    ],
)
async def test_bad_requests_get_json_errors(
    engine: AsyncEngine,
    registry: Path,
    path: str,
    headers: dict[str, str] | str | None,
    status: int,
    error: str,
) -> None:
    if isinstance(headers, str):
        headers = await token(engine, scopes=[headers])
    async with gateway(engine, registry) as client:
        response = await client.get(path, headers=headers)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["detail"]
