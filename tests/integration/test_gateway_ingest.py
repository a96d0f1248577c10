"""POST /v1/events/{stream} and /v1/sms/inbound against a real broker: whole valid batches
only, answered after the acknowledgement; the webhook signed, the number hashed, the text
redacted."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import CHAT, FEEDBACK
from services.common.hashing import hash_recipient
from services.common.producer import encode, started_producer
from services.common.settings import Settings
from tests.integration.test_dead_letters import read_all
from tests.support.chat_events import at, chat
from tests.support.gateway import gateway, token

SECRET = "webhook-secret"
SETTINGS = Settings(sms_webhook_secret=SECRET, phone_hash_key="k")


@asynccontextmanager
async def client_on(
    broker: str, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    registry = tmp_path / "registry.yaml"
    registry.write_text("units: []\n", encoding="utf-8")
    async with (
        started_producer(broker) as producer,
        gateway(engine, registry, producer, SETTINGS) as client,
    ):
        yield client


def chat_items() -> list[dict[str, object]]:
    events = [
        chat("chat.queued", at(3, "10:00:00"), contact_id="c1", queue_id="q1"),
        chat("chat.answered", at(3, "10:00:30"), contact_id="c1", queue_id="q1"),
    ]
    return [json.loads(encode(e)) for e in events]


async def test_a_valid_batch_is_published_keyed_by_contact(
    own_broker: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    items = chat_items()
    async with client_on(own_broker, engine, tmp_path) as client:
        response = await client.post(
            "/v1/events/chat", json=items, headers=await token(engine, scopes=["ingest"])
        )
        single = await client.post(
            "/v1/events/chat", json=items[0], headers=await token(engine, scopes=["admin"])
        )
    assert (response.status_code, response.json()) == (202, {"accepted": 2})
    assert single.json() == {"accepted": 1}
    published = await read_all(own_broker, CHAT.topic, 3)
    assert len(published) == 3
    assert {json.loads(value)["id"] for _, _, value, _ in published} == {i["id"] for i in items}


async def test_one_bad_item_publishes_nothing_and_names_every_bad_one(
    own_broker: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    good, other = chat_items()
    no_queue = {**other, "data": {"contact_id": "c1"}}
    unknown = {**other, "type": "chat.teleported"}
    async with client_on(own_broker, engine, tmp_path) as client:
        response = await client.post(
            "/v1/events/chat",
            json=[good, no_queue, other, unknown],
            headers=await token(engine, scopes=["ingest"]),
        )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_events"
    assert [(p["index"], p["reason"]) for p in body["detail"]] == [
        (1, "missing_field"),
        (3, "unknown_type"),
    ]
    assert await read_all(own_broker, CHAT.topic, 1) == []


async def test_bad_requests(own_broker: str, engine: AsyncEngine, tmp_path: Path) -> None:
    ingest, reader = await token(engine, scopes=["ingest"]), await token(engine)
    async with client_on(own_broker, engine, tmp_path) as client:
        not_json = await client.post("/v1/events/chat", content=b"{no", headers=ingest)
        empty = await client.post("/v1/events/chat", json=[], headers=ingest)
        huge = await client.post("/v1/events/chat", content=b" " * (6 << 20), headers=ingest)
        stream = await client.post("/v1/events/video", json=chat_items(), headers=ingest)
        forbidden = await client.post("/v1/events/chat", json=chat_items(), headers=reader)
    assert (not_json.status_code, not_json.json()["error"]) == (400, "invalid_json")
    assert (empty.status_code, empty.json()["error"]) == (422, "invalid_events")
    assert (huge.status_code, huge.json()["error"]) == (413, "too_large")
    assert stream.status_code == 422
    assert forbidden.status_code == 403


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Kanava-Signature": f"sha256={digest}", "Content-Type": "application/json"}


async def test_the_sms_webhook(own_broker: str, engine: AsyncEngine, tmp_path: Path) -> None:
    body = json.dumps(
        {
            "from": "040 123 4567",
            "text": "9 kiitos, soittakaa 050 555 1234",
            "received_at": "2025-11-03T12:00:00+02:00",
            "message_id": "op-1",
        }
    ).encode()
    async with client_on(own_broker, engine, tmp_path) as client:
        first = await client.post("/v1/sms/inbound", content=body, headers=signed(body))
        retried = await client.post("/v1/sms/inbound", content=body, headers=signed(body))
        forged = await client.post("/v1/sms/inbound", content=body, headers=signed(body, "x"))
        unsigned = await client.post("/v1/sms/inbound", content=body)
        fields = {"from": "abc", "text": "9", "received_at": "2025-11-03T12:00Z", "message_id": "m"}
        bad = json.dumps(fields).encode()
        bad_phone = await client.post("/v1/sms/inbound", content=bad, headers=signed(bad))
    assert (first.status_code, first.json()) == (202, {"accepted": 1})
    assert retried.status_code == 202
    assert (forged.status_code, forged.json()["error"]) == (401, "bad_signature")
    assert unsigned.status_code == 401
    assert (bad_phone.status_code, bad_phone.json()["error"]) == (422, "invalid_phone")
    (_, _, one, _), (_, _, two, _) = await read_all(own_broker, FEEDBACK.topic, 2)
    event = json.loads(one)
    assert event["id"] == json.loads(two)["id"]  # a retried webhook is a duplicate
    assert event["data"] == {
        "recipient": hash_recipient("+358401234567", "k"),
        "text": "9 kiitos, soittakaa [puhelinnumero]",
        "message_id": "op-1",
    }
    assert b"040" not in one
    assert b"555" not in one


@pytest.mark.parametrize("secret", [None, ""])
async def test_the_webhook_needs_its_secret(
    own_broker: str, engine: AsyncEngine, tmp_path: Path, secret: str | None
) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text("units: []\n", encoding="utf-8")
    settings = Settings(sms_webhook_secret=secret)
    unsigned = hmac.new(b"", b"{}", hashlib.sha256).hexdigest()  # what an empty key signs
    async with gateway(engine, registry, settings=settings) as client:
        response = await client.post(
            "/v1/sms/inbound", content=b"{}", headers={"X-Kanava-Signature": f"sha256={unsigned}"}
        )
    assert (response.status_code, response.json()["error"]) == (503, "not_configured")


def sms(text: str, received_at: str = "2025-11-03T12:00:00+02:00") -> bytes:
    fields = {"from": "040 123 4567", "text": text, "received_at": received_at, "message_id": "m"}
    return json.dumps(fields).encode()


async def test_the_webhook_refuses_what_the_consumer_would_dead_letter(
    own_broker: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    cases = {
        "before 2000": (sms("9", "1999-12-31T12:00:00+02:00"), "received_at"),
        "two hours ahead": (sms("9", future), "received_at"),
        "a NUL in the text": (sms("9 \x00"), "text"),
    }
    async with client_on(own_broker, engine, tmp_path) as client:
        for name, (body, where) in cases.items():
            response = await client.post("/v1/sms/inbound", content=body, headers=signed(body))
            assert response.status_code == 422, name
            assert response.json()["error"] == "invalid_request", name
            assert [p["where"] for p in response.json()["detail"]] == [where], name


async def test_a_text_that_redaction_makes_longer_is_cut_to_the_schema_not_refused(
    own_broker: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    # 166 addresses of 12 characters ("a@kanava.fi" and a space) become "[sähköposti] " (13):
    # 1 994 characters in, 2 160 after redaction, over the 2 000 of sms.received
    text = "9 " + "a@kanava.fi " * 166
    body = sms(text)
    comment = "hyvä " + "b@kanava.fi " * 416  # 4 997 in, 5 413 redacted (5 000 allowed)
    answered = long_answer(comment)
    async with client_on(own_broker, engine, tmp_path) as client:
        webhook = await client.post("/v1/sms/inbound", content=body, headers=signed(body))
        ingest = await client.post(
            "/v1/events/feedback", json=answered, headers=await token(engine, ["ingest"])
        )
    assert (webhook.status_code, ingest.status_code) == (202, 202)
    records = await read_all(own_broker, FEEDBACK.topic, 2)
    texts = sorted(
        (json.loads(value)["data"].get("text") or json.loads(value)["data"]["comment"])
        for _, _, value, _ in records
    )
    assert [len(t) for t in texts] == [2000, 5000]
    assert all(t.endswith("…") and "@" not in t for t in texts)


def long_answer(comment: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "answer-long",
        "source": "test",
        "type": "survey.answered",
        "time": "2025-11-03T12:00:00+02:00",
        "data": {"survey_id": "s-1", "score": 9, "comment": comment},
    }
