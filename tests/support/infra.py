"""Real infrastructure for tests: a Tansu broker and embedded PostgreSQL servers, started the
way `kanava up` starts them, unless KANAVA_TEST_KAFKA_BOOTSTRAP / KANAVA_TEST_DATABASE_URL
point at running ones."""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.db import migrate


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def fresh_database(server_url: str) -> str:
    """Create an empty database on the server of `server_url`, migrated to head; its URL."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(migrate, url)
    return url


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]
