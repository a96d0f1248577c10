"""GET /v1/feedback/nps, /comments and the suppression list over what feedback_ingest stored.
The day of test_feedback_store, worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.hashing import hash_recipient
from services.common.registry import load_registry
from services.common.settings import Settings
from services.feedback_ingest.service import FeedbackIngest
from tests.integration.test_feedback_store import R1, R4, R5, REGISTRY, first_batch
from tests.support.apply import apply_batch
from tests.support.chat_events import at
from tests.support.feedback_events import sent
from tests.support.gateway import gateway, token

DAY = "from=2025-11-03&to=2025-11-03"


@pytest.fixture
async def registry(tmp_path: Path, engine: AsyncEngine) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    domain = FeedbackIngest(load_registry(path), ZoneInfo("Europe/Helsinki"))
    await apply_batch(engine, domain, first_batch())
    await apply_batch(engine, domain, [sent("s5", R5, "u2", at(3, "16:00:00"))])
    return path


async def test_nps_rows_worked_by_hand(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry, settings=Settings(min_responses=1)) as client:
        total = (
            await client.get(f"/v1/feedback/nps?{DAY}&granularity=total", headers=reader)
        ).json()
        units = (await client.get(f"/v1/feedback/nps?{DAY}&by=unit", headers=reader)).json()
    # u1: 3 sent, 1 failed, a promoter and a detractor; u2: 2 sent, a passive
    (row,) = total["rows"]
    assert {k: row[k] for k in ("surveys_sent", "delivery_failed", "responses", "nps")} == {
        "surveys_sent": 5,
        "delivery_failed": 1,
        "responses": 3,
        "nps": 0,
    }
    assert row["response_rate"] == 0.75  # 3 / (5 - 1)
    half = 1.96 * 100 * math.sqrt((2 / 3) / 3)  # p = d = 1/3: p + d - (p - d)^2 = 2/3
    assert row["ci95_lower"] == pytest.approx(-half)
    assert row["ci95_upper"] == pytest.approx(half)
    u1, u2 = units["rows"]
    assert (u1["period"], u1["unit_id"], u1["response_rate"], u1["suppressed"]) == (
        "2025-11-03",
        "u1",
        1.0,  # 2 / (3 - 1)
        False,
    )
    assert u1["ci95_upper"] == pytest.approx(1.96 * 100 * math.sqrt(1 / 2))  # p = d = 1/2
    assert (u2["nps"], u2["ci95_lower"], u2["ci95_upper"], u2["response_rate"]) == (0, 0, 0, 0.5)
    u2_only = await token(engine, units=["u2"])
    async with gateway(engine, registry, settings=Settings(min_responses=1)) as client:
        limited = (await client.get(f"/v1/feedback/nps?{DAY}&by=unit", headers=u2_only)).json()
    assert [(r["unit_id"], r["surveys_sent"]) for r in limited["rows"]] == [("u2", 2)]


async def test_small_groups_are_suppressed(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry) as client:  # min_responses 5
        rows = (await client.get(f"/v1/feedback/nps?{DAY}&by=unit", headers=reader)).json()
        hidden = (await client.get(f"/v1/feedback/comments?{DAY}", headers=reader)).json()
    assert [(r["nps"], r["ci95_lower"], r["suppressed"]) for r in rows["rows"]] == [
        (None, None, True),
        (None, None, True),
    ]
    assert rows["rows"][0]["responses"] == 2
    assert hidden == {"comments": [], "suppressed_units": ["u1", "u2"]}


async def test_comments_newest_first_for_the_units_a_token_sees(
    engine: AsyncEngine, registry: Path
) -> None:
    u1_only = await token(engine, units=["u1"])
    u2_only = await token(engine, units=["u2"])
    async with gateway(engine, registry, settings=Settings(min_responses=1)) as client:
        mine = (await client.get(f"/v1/feedback/comments?{DAY}", headers=u1_only)).json()
        other = (await client.get(f"/v1/feedback/comments?{DAY}", headers=u2_only)).json()
    assert [(c["unit_id"], c["score"], c["text"]) for c in mine["comments"]] == [
        ("u1", 9, "Hoitaja oli ihana, puh [puhelinnumero]"),
        ("u1", 9, "kiitos"),
        ("u1", 6, "Jonotus kesti, hetu [henkilötunnus]"),
    ]
    assert other == {"comments": [], "suppressed_units": []}


async def test_the_suppression_list(engine: AsyncEngine, registry: Path) -> None:
    sender = await token(engine, scopes=["ingest"])
    settings = Settings(phone_hash_key="k")
    async with gateway(engine, registry, settings=settings) as client:
        opted_out = (await client.get(f"/v1/feedback/suppressions/{R4}", headers=sender)).json()
        free = (await client.get(f"/v1/feedback/suppressions/{R1}", headers=sender)).json()
        told = await client.post(
            "/v1/feedback/suppressions",
            json={"phone": "040 123 4567", "reason": "told the nurse"},
            headers=sender,
        )
        hashed = hash_recipient("+358401234567", "k")
        after = (await client.get(f"/v1/feedback/suppressions/{hashed}", headers=sender)).json()
        bad_phone = await client.post(
            "/v1/feedback/suppressions", json={"phone": "abc"}, headers=sender
        )
        both = await client.post(
            "/v1/feedback/suppressions",
            json={"phone": "0401234567", "recipient": R1},
            headers=sender,
        )
        bad_recipient = await client.get("/v1/feedback/suppressions/0401234567", headers=sender)
        reader = await client.get(f"/v1/feedback/suppressions/{R4}", headers=await token(engine))
    assert opted_out["suppressed"] is True
    assert opted_out["reason"] == "sms_opt_out"
    assert opted_out["since"].startswith("2025-11-03T09:00:00")  # 11:00 Helsinki
    assert free == {"recipient": R1, "suppressed": False, "since": None, "reason": None}
    assert told.status_code == 200
    assert told.json()["recipient"] == hashed
    assert after["reason"] == "told the nurse"
    assert (bad_phone.status_code, bad_phone.json()["error"]) == (422, "invalid_phone")
    assert (both.status_code, both.json()["error"]) == (422, "invalid_request")
    assert bad_recipient.status_code == 422
    assert reader.status_code == 403
