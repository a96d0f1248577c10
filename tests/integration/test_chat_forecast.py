"""From chat events to the staffing forecast: GET /v1/chat/forecast and chat_metrics' gauges
(docs/staffing.md). Expected values worked out by hand."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.core import Metric
from sqlalchemy.ext.asyncio import AsyncEngine

from services.chat_metrics.exports import ChatExports, LiveCollector
from services.chat_metrics.queues import QueueRules
from services.chat_metrics.service import ChatMetrics
from services.common.registry import load_registry
from tests.integration.test_chat_metrics_store import REGISTRY, WAIT
from tests.support.apply import apply_batch
from tests.support.chat_events import chat
from tests.support.gateway import gateway, token

TZ = ZoneInfo("Europe/Helsinki")
MONDAY = date(2025, 11, 10)  # no Finnish holiday on the Mondays and Tuesdays before
W2 = 0.5**0.5  # the weight of two weeks back
# entries at 10:00-11:00 on the three Mondays before: 6, 4, 2 (the first day is 2025-10-20)
EXPECTED = (6 + 4 * W2 + 2 * 0.5) / (1 + W2 + 0.5)
LOAD = EXPECTED * 600 / 3600  # erlangs: every conversation took 600 s
# one professional of capacity 2 is two servers: Erlang C with n = 2,
# C = (A²/(2 - A)) / (1 + A + A²/(2 - A)), SL = 1 - C e^(-(2 - A) 60 / 600)
WAITS = (LOAD**2 / (2 - LOAD)) / (1 + LOAD + LOAD**2 / (2 - LOAD))
SERVICE_LEVEL = 1 - WAITS * math.exp(-(2 - LOAD) * 60 / 600)


def monday_visits(day: date, clients: int) -> list[Any]:
    """Clients queued at 10:00, 10:05, ... in q1, answered 30 s later, closed after 600 s."""
    events = []
    for n in range(clients):
        queued = datetime(day.year, day.month, day.day, 10, 5 * n, tzinfo=TZ)
        contact = f"{day:%m%d}-{n}"
        events += [
            chat("chat.queued", queued, contact_id=contact, queue_id="q1"),
            chat(
                "chat.answered", queued + timedelta(seconds=30), contact_id=contact, queue_id="q1"
            ),
            chat("chat.closed", queued + timedelta(seconds=630), contact_id=contact),
        ]
    return events


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    (path := tmp_path / "registry.yaml").write_text(REGISTRY, encoding="utf-8")
    return path


@pytest.fixture
async def domain(engine: AsyncEngine, registry: Path) -> ChatMetrics:
    rules = QueueRules(load_registry(registry), TZ)
    chat_metrics = ChatMetrics(rules, ChatExports(WAIT))
    status = datetime(2025, 11, 3, 9, tzinfo=TZ)
    events = [
        *monday_visits(date(2025, 11, 3), 6),
        *monday_visits(date(2025, 10, 27), 4),
        *monday_visits(date(2025, 10, 20), 2),
        chat(
            "agent.status", status, agent_id="a1", status="available", queue_ids=["q1"], capacity=2
        ),
        chat("agent.status", status, agent_id="a2", status="busy", queue_ids=["q1"], capacity=2),
        chat("agent.status", status, agent_id="a3", status="away", queue_ids=["q1"], capacity=1),
    ]
    await apply_batch(engine, chat_metrics, events)
    return chat_metrics


async def test_the_forecast_of_a_day_and_the_next(
    engine: AsyncEngine, registry: Path, domain: ChatMetrics
) -> None:
    async with gateway(engine, registry) as client:
        response = await client.get(f"/v1/chat/forecast?day={MONDAY}", headers=await token(engine))
    assert response.status_code == 200
    body = response.json()
    assert body["days"] == ["2025-11-10", "2025-11-11"]
    queues = {q["queue_id"]: q for q in body["queues"]}
    assert queues["q1"] == {
        "queue_id": "q1",
        "name": "Queue 1",
        "unit_id": "u",
        "service_level_seconds": 60,
        "target_ratio": 0.8,
        "handle_seconds": 600.0,
        "patience_seconds": None,  # nobody left the queue
        "concurrency": 2,  # two of the three professionals take 2 chats at once
        "model": "erlang_c",
        "professionals_on_duty": 2,  # available or busy
    }
    hours: dict[str, list[dict[str, Any]]] = {}
    for row in body["rows"]:
        hours.setdefault(row["queue_id"], []).append(row)
    assert [len(rows) for rows in hours.values()] == [48] * len(queues)
    ten = hours["q1"][10]
    assert ten["expected_offered"] == pytest.approx(EXPECTED, abs=1e-9)
    assert ten["expected_service_level"] == pytest.approx(SERVICE_LEVEL, abs=1e-9)
    rest = {k: v for k, v in ten.items() if k not in ("expected_offered", "expected_service_level")}
    assert rest == {
        "queue_id": "q1",
        "hour": "2025-11-10T10:00:00+02:00",
        "open": True,
        "holiday": False,
        "handle_seconds": 600.0,
        "concurrency": 2,
        "professionals_advised": 1,
        "professionals_on_duty": 2,
    }
    # Tuesdays since the first day had no entries: nothing expected, nobody needed
    tuesday = hours["q1"][24 + 10]
    assert (tuesday["expected_offered"], tuesday["professionals_advised"]) == (0.0, 0)
    # a queue with no history has no forecast; a closed hour needs nobody
    assert (hours["q2"][10]["expected_offered"], queues["q2"]["model"]) == (None, None)
    early = hours["day-queue"][7]
    assert (early["open"], early["expected_offered"], early["professionals_advised"]) == (
        False,
        0.0,
        0,
    )


async def test_the_forecast_shows_only_the_queues_a_token_may_read(
    engine: AsyncEngine, registry: Path, domain: ChatMetrics
) -> None:
    other = await token(engine, units=["elsewhere"])
    async with gateway(engine, registry) as client:
        none = await client.get("/v1/chat/forecast", headers=other)
        bad = await client.get("/v1/chat/forecast?day=10.11.2025", headers=other)
        far = await client.get("/v1/chat/forecast?day=9999-12-31", headers=other)
        anonymous = await client.get("/v1/chat/forecast")
    assert none.status_code == 200
    assert (none.json()["queues"], none.json()["rows"]) == ([], [])
    assert bad.status_code == 422
    assert "day" in str(bad.json())
    assert far.status_code == 422
    assert far.json()["error"] == "invalid_range"
    assert anonymous.status_code == 401


def gauges(collector: LiveCollector) -> dict[str, dict[str, float]]:
    families: list[Metric] = list(collector.collect())
    return {f.name: {s.labels["queue"]: s.value for s in f.samples} for f in families}


async def test_chat_metrics_exports_this_hour_and_the_next(
    engine: AsyncEngine, domain: ChatMetrics
) -> None:
    await domain.refresh_staffing(engine, at=datetime(2025, 11, 10, 10, 30, tzinfo=TZ))
    exported = gauges(LiveCollector(domain.live, domain.rules, lambda: {}, lambda: domain.staffing))
    assert exported["kanava_chat_forecast_offered"]["q1"] == pytest.approx(EXPECTED, abs=1e-9)
    assert exported["kanava_chat_professionals_advised"]["q1"] == 1
    # 11:00-12:00 had no entries on the Mondays since the first day
    assert exported["kanava_chat_professionals_advised_next_hour"]["q1"] == 0
    assert "q2" not in exported["kanava_chat_professionals_advised"]  # no history
    assert exported["kanava_chat_professionals_on_duty"]["q1"] == 2
