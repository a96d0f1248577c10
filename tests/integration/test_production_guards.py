"""Under KANAVA_ENVIRONMENT=production the real processes refuse bad settings: one line on stderr
per problem, exit code 2, before they bind a port or reach Kafka (none is running here)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import token_store as tokens
from services.common.guards import live_dev_tokens
from services.common.tokens import parse
from services.devstack.launcher import _dev_token
from tests.support.infra import free_port, project_root
from tests.unit.test_guards import DEV_KEY, DEV_STACK, NO_WEBHOOK_SECRET, SHORT_KEY


async def run(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KANAVA_")}
    unreachable = {"KANAVA_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, *argv],
        env=clean | unreachable | {"KANAVA_ENVIRONMENT": "production"} | env,
        cwd=project_root(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def token_id(token: str) -> str:
    parsed = parse(token)
    assert parsed is not None
    return parsed[0]


async def test_a_consumer_service_refuses_the_development_key() -> None:
    done = await run(["-m", "services.chat_metrics"])
    assert (done.returncode, done.stderr.splitlines()) == (2, [f"chat_metrics: {DEV_KEY}"])


async def test_a_consumer_service_refuses_a_short_key() -> None:
    done = await run(["-m", "services.chat_metrics"], KANAVA_PHONE_HASH_KEY="x" * 31)
    assert (done.returncode, done.stderr.splitlines()) == (2, [f"chat_metrics: {SHORT_KEY}"])


async def test_the_gateway_refuses_the_key_a_missing_webhook_secret_and_dev_tokens(
    database_url: str, engine: AsyncEngine
) -> None:
    # `kanava up` twice: the second start revokes the first token, which no longer counts
    await _dev_token(database_url)
    live = token_id(await _dev_token(database_url))
    done = await run(["-m", "services.gateway"], KANAVA_DATABASE_URL=database_url)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"gateway: {DEV_KEY}",
        f"gateway: {NO_WEBHOOK_SECRET}",
        'gateway: the dev stack\'s token "dev (kanava up)" is live in the database: '
        f"revoke it with `kanava token revoke {live}`",
    ]
    async with engine.begin() as conn:
        assert await tokens.revoke(conn, live)
    assert await live_dev_tokens(database_url) == []


async def test_kanava_up_refuses_production() -> None:
    done = await run(["-m", "services.cli", "up"])
    assert (done.returncode, done.stderr.splitlines()) == (2, [DEV_STACK])
