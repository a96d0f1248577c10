"""POST /v1/reports/monthly/{month}/grafana-snapshot against a local server that checks the
request the way Grafana's snapshot API does (POST /api/snapshots, a bearer token, a dashboard
whose panels carry their data), over the hand-worked data of test_monthly_report."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.settings import Settings
from tests.integration.test_monthly_report import registry  # noqa: F401  (the data set)
from tests.support.gateway import gateway, token

GRAFANA_TOKEN = "glsa_test_token"


class FakeGrafana(BaseHTTPRequestHandler):
    """What Grafana's POST /api/snapshots checks, and what it answers."""

    received: list[dict[str, Any]] = []  # noqa: RUF012  (shared with the test, on purpose)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        problem = self._problem(body)
        if problem:
            self._answer(400 if problem != "unauthorized" else 401, {"message": problem})
            return
        self.received.append(body)
        key = f"k{len(self.received)}"
        self._answer(
            200,
            {
                "deleteKey": f"d{key}",
                "deleteUrl": f"http://grafana.test/api/snapshots-delete/d{key}",
                "id": len(self.received),
                "key": key,
                "url": f"http://grafana.test/dashboard/snapshot/{key}",
            },
        )

    def _problem(self, body: Any) -> str | None:
        if self.path != "/api/snapshots":
            return f"no route {self.path}"
        if self.headers.get("Authorization") != f"Bearer {GRAFANA_TOKEN}":
            return "unauthorized"
        dashboard = body.get("dashboard") if isinstance(body, dict) else None
        if not isinstance(dashboard, dict) or not dashboard.get("panels"):
            return "dashboard with panels is required"
        for panel in dashboard["panels"]:
            frames = panel.get("snapshotData")
            if not frames:
                return f"panel {panel.get('title')} has no snapshotData"
            for frame in frames:
                lengths = {len(field["values"]) for field in frame["fields"]}
                if len(lengths) != 1:
                    return f"frame {frame.get('name')} has fields of different lengths"
        return None

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def grafana() -> Iterator[str]:
    FakeGrafana.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGrafana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_the_snapshot_carries_the_months_figures(
    engine: AsyncEngine,
    registry: Path,  # noqa: F811
    grafana: str,
) -> None:
    settings = Settings(grafana_url=grafana, grafana_token=GRAFANA_TOKEN, language="en")
    reader = await token(engine)
    async with gateway(engine, registry, settings=settings) as client:
        report = (await client.get("/v1/reports/monthly/2025-10", headers=reader)).json()
        response = await client.post("/v1/reports/monthly/2025-10/grafana-snapshot", headers=reader)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "url": "http://grafana.test/dashboard/snapshot/k1",
        "key": "k1",
        "delete_url": "http://grafana.test/api/snapshots-delete/dk1",
    }
    (sent,) = FakeGrafana.received
    dashboard = sent["dashboard"]
    assert dashboard["uid"] == "kanava-monthly-report"
    assert "expires" not in sent  # never expires (KANAVA_GRAFANA_SNAPSHOT_EXPIRES_SECONDS=0)
    panels = {panel["title"]: panel["snapshotData"][0] for panel in dashboard["panels"]}
    level = {f["name"]: f["values"] for f in panels["Chat service level by month"]["fields"]}
    assert level["chat_service_level"] == [p["chat_service_level"] for p in report["trend"]]
    assert level["chat_service_level"][-1] == 4 / 6  # October 2025, worked out in its test
    by_unit = {f["name"]: f["values"] for f in panels["NPS by unit, 2025-10"]["fields"]}
    assert by_unit["unit"] == ["Terveysasema", "Avokuntoutus"]
    assert by_unit["nps"] == [50.0, None]  # u2 has 3 responses: suppressed
    channels = {f["name"]: f["values"] for f in panels["Contacts by channel, 2025-10"]["fields"]}
    assert dict(zip(channels["channel"], channels["contacts"], strict=True)) == {
        "chat": 2,
        "in_person": 6,
        "message": 1,
        "phone": 2,
        "video": 1,
    }


async def test_errors_are_clear(
    engine: AsyncEngine,
    registry: Path,  # noqa: F811
    grafana: str,
) -> None:
    reader = await token(engine)
    url = "/v1/reports/monthly/2025-10/grafana-snapshot"
    async with gateway(engine, registry, settings=Settings()) as client:
        unset = await client.post(url, headers=reader)
    wrong = Settings(grafana_url=grafana, grafana_token="wrong")
    async with gateway(engine, registry, settings=wrong) as client:
        refused = await client.post(url, headers=reader)
    gone = Settings(grafana_url="http://127.0.0.1:9", grafana_token=GRAFANA_TOKEN)
    async with gateway(engine, registry, settings=gone) as client:
        unreachable = await client.post(url, headers=reader)
    assert (unset.status_code, unset.json()["error"]) == (503, "grafana_not_configured")
    assert (refused.status_code, refused.json()["error"]) == (502, "grafana_error")
    assert "401" in refused.json()["detail"]
    assert (unreachable.status_code, unreachable.json()["error"]) == (502, "grafana_error")
