"""The gateway fuzzed from its own OpenAPI (schemathesis): whatever the input, never a 500,
and every answer matches the documented schema (errors included)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import response_schema_conformance
from schemathesis.core.result import Ok
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from services.common.registry import load_registry
from services.common.settings import PROJECT_ROOT, Settings
from services.gateway.app import create_app
from services.gateway.context import GatewayContext
from tests.support.gateway import token


@pytest.fixture
async def admin(engine: AsyncEngine) -> dict[str, str]:
    return await token(engine, scopes=["admin"])


def test_no_input_gets_a_server_error(database_url: str, admin: dict[str, str]) -> None:
    # requests run in the test client's own event loops: no pooled connections across them
    engine = create_async_engine(database_url, poolclass=NullPool)
    registry = load_registry(PROJECT_ROOT / "infra" / "registry" / "demo.yaml")
    config = Settings(sms_webhook_secret="s", phone_hash_key="k")
    app = create_app(GatewayContext(config, registry, engine, producer=None))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) >= 14, "every operation of the OpenAPI is valid"
    for operation in operations:
        fuzz(operation, admin)


def fuzz(operation: Any, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        response = case.call(headers=headers)
        # 502/503 are the documented answers when Kafka or Grafana is not there; never a 500
        assert response.status_code != 500, response.text
        case.validate_response(response, checks=[response_schema_conformance])

    check()
