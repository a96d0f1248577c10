"""A gateway in the test's process, over a real PostgreSQL, and tokens to call it with."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import token_store
from services.common.registry import load_registry
from services.common.settings import Settings
from services.common.tokens import new_token
from services.gateway.app import create_app
from services.gateway.context import GatewayContext


async def token(
    engine: AsyncEngine,
    scopes: Sequence[str] = ("read",),
    units: Sequence[str] = (),
    service_areas: Sequence[str] = (),
) -> dict[str, str]:
    """The Authorization header of a new token."""
    created = new_token()
    async with engine.begin() as conn:
        await token_store.create(conn, created, "test", scopes, units, service_areas)
    return {"Authorization": f"Bearer {created.token}"}


@asynccontextmanager
async def gateway(
    engine: AsyncEngine,
    registry: Path,
    producer: AIOKafkaProducer | None = None,
    settings: Settings | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    # The suite's expected texts are English; tests/integration/test_languages.py checks the
    # deployment's default (fi) and the choice by `lang` and Accept-Language.
    settings = settings or Settings(language="en")
    ctx = GatewayContext(settings, load_registry(registry), engine, producer)
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client
