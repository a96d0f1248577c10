"""`kanava prepare`: what a deployment runs before the services (docker-compose's migrate)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.topics import topic_names
from tests.integration.test_devstack import head_revision
from tests.support.infra import project_root


async def test_prepare_migrates_and_creates_topics(
    own_broker: str, engine: AsyncEngine, database_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANAVA_")}
    env |= {"KANAVA_DATABASE_URL": database_url, "KANAVA_KAFKA_BOOTSTRAP": own_broker}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.cli", "prepare"],
        env=env,
        cwd=project_root(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("kanava prepare: ")
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
    admin = AIOKafkaAdminClient(bootstrap_servers=own_broker)
    await admin.start()
    try:
        assert set(await admin.list_topics()) >= set(topic_names())
    finally:
        await admin.close()
