"""Pathological bodies on every endpoint that takes one, through the real app: a documented
4xx with the JSON error shape, never a 500 (limits: services/gateway/body.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.gateway.body import MAX_DEPTH, SMALL_BODY_BYTES
from services.gateway.ingest.limits import MAX_BODY_BYTES
from tests.integration.test_gateway_ingest import client_on, signed
from tests.support.gateway import token
from tests.support.infra import fresh_database

BAD_JSON = (400, "invalid_json")
TOO_LARGE = (413, "too_large")
PATHOLOGICAL: dict[str, bytes] = {
    "deep_array": b"[" * 5000 + b"]" * 5000,
    "deep_object": b'{"a":' * 5000 + b"0" + b"}" * 5000,
    "one_level_too_deep": b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
    "huge_exponent": b'{"a": 1e999999}',
    "long_integer": b'{"a": ' + b"9" * 60_000 + b"}",
    "integer_of_100_000_digits": b'{"a": ' + b"9" * 100_000 + b"}",
    "long_mantissa": b'{"a": 0.' + b"1" * 200 + b"}",
    "nan": b'{"a": NaN}',
    "infinity": b'{"a": [-Infinity]}',
    "lone_high_surrogate": b'{"a": "\\ud800"}',
    "lone_low_surrogate": b'{"\\udc00": 1}',
    "invalid_utf8": b'{"a": "\xff"}',
    "utf16": '{"a": 1}'.encode("utf-16"),
    "not_json": b"{no",
    "trailing_data": b"{} {}",
    "empty": b"",
    "too_large": b" " * (6 << 20),
}
# JSON the decoder takes, though no endpoint's schema does
ACCEPTED: dict[str, bytes] = {
    "deepest_allowed": b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
    "surrogate_pair": b'{"a": "\\ud83d\\ude00"}',
    "largest_float": b'{"a": 1.7976931348623157e308}',
}
STREAMS = ["chat", "pathway", "feedback", "contact"]
SUPPRESSIONS = "/v1/feedback/suppressions"
SNAPSHOT = "/v1/reports/monthly/2025-10/grafana-snapshot"
ENDPOINTS = [*(f"/v1/events/{s}" for s in STREAMS), "/v1/sms/inbound", SUPPRESSIONS]


def expected(path: str, name: str) -> tuple[int, str]:
    limit = MAX_BODY_BYTES if path.startswith("/v1/events/") else SMALL_BODY_BYTES
    if len(PATHOLOGICAL[name]) > limit:
        return TOO_LARGE
    if name == "empty" and path == SUPPRESSIONS:
        return 422, "invalid_request"  # FastAPI: the body is required
    return BAD_JSON


def schema_refusal(path: str) -> tuple[int, str]:
    if path.startswith("/v1/events/"):
        return 422, "invalid_events"
    return 422, "invalid_request"


@pytest.fixture(scope="module")
async def engine(postgres_server: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(await fresh_database(postgres_server))
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def client(
    engine: AsyncEngine, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_on(kafka_bootstrap, engine, tmp_path_factory.mktemp("bodies")) as client:
        yield client


@pytest.fixture
async def admin(engine: AsyncEngine) -> dict[str, str]:
    return await token(engine, scopes=["admin"])


async def answer(
    client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    response = await client.post(path, content=body, headers={**headers, **signed(body)})
    shape = response.json()
    assert set(shape) == {"error", "detail"}, shape
    return response.status_code, shape["error"]


@pytest.mark.parametrize("name", PATHOLOGICAL)
@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_pathological_body_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], path: str, name: str
) -> None:
    assert await answer(client, path, PATHOLOGICAL[name], admin) == expected(path, name)


@pytest.mark.parametrize("name", ACCEPTED)
@pytest.mark.parametrize("path", ENDPOINTS)
async def test_json_within_the_limits_reaches_the_schema(
    client: httpx.AsyncClient, admin: dict[str, str], path: str, name: str
) -> None:
    assert await answer(client, path, ACCEPTED[name], admin) == schema_refusal(path)


@pytest.mark.parametrize("name", PATHOLOGICAL)
async def test_an_endpoint_without_a_body_ignores_it(
    client: httpx.AsyncClient, admin: dict[str, str], name: str
) -> None:
    refused = await answer(client, SNAPSHOT, PATHOLOGICAL[name], admin)
    assert refused == (503, "grafana_not_configured")


async def test_the_webhook_checks_its_signature_before_the_body(
    client: httpx.AsyncClient,
) -> None:
    body = PATHOLOGICAL["deep_array"]
    response = await client.post("/v1/sms/inbound", content=body, headers=signed(body, "x"))
    assert (response.status_code, response.json()["error"]) == (401, "bad_signature")


async def test_a_nul_character_is_refused_where_it_would_be_stored(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    refusal = {"recipient": "a" * 64, "reason": "told\u0000staff"}  # PostgreSQL cannot store it
    response = await client.post(SUPPRESSIONS, json=refusal, headers=admin)
    assert (response.status_code, response.json()["error"]) == (422, "invalid_request")
