"""Fixtures with real parts: a Kafka-protocol broker and PostgreSQL, started when missing."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from services.common.settings import get_settings
from services.common.topics import ensure_topics
from services.devstack.broker import start_tansu
from services.devstack.postgres import EmbeddedPostgres
from tests.support.infra import free_port, fresh_database


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks from where a test lives and what it uses, so `make` can run a part of the suite:
    `unit` (tests/unit: fast, in-process, no broker), `integration` (tests/integration) and,
    among those, `browser` (a real headless Chromium)."""
    for item in items:
        kind = "unit" if item.path.parent.name == "unit" else "integration"
        item.add_marker(kind)
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker("browser")


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real broker with the four topics and their DLQs (6 partitions each)."""
    configured = os.environ.get("KANAVA_TEST_KAFKA_BOOTSTRAP")
    process: subprocess.Popen[bytes] | None = None
    if configured:
        bootstrap = configured
    else:
        port = free_port()
        process = start_tansu(port, tmp_path_factory.mktemp("tansu") / "tansu.log")
        bootstrap = f"127.0.0.1:{port}"
    asyncio.run(ensure_topics(bootstrap, partitions=6))
    yield bootstrap
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[str]:
    """A broker of the test's own with the four topics (6 partitions): nothing else on it."""
    port = free_port()
    process = start_tansu(port, tmp_path / "tansu.log")
    bootstrap = f"127.0.0.1:{port}"
    asyncio.run(ensure_topics(bootstrap, partitions=6))
    yield bootstrap
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def broker(own_broker: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A broker of the test's own, which the settings (`KANAVA_KAFKA_BOOTSTRAP`) name."""
    monkeypatch.setenv("KANAVA_KAFKA_BOOTSTRAP", own_broker)
    get_settings.cache_clear()
    yield own_broker
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database: configured, else embedded."""
    configured = os.environ.get("KANAVA_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    # Not under pytest's own temporary root: a second pytest session on the machine makes that
    # folder private again (0700), and the server, which runs as its own user, loses its data.
    folder = Path(tempfile.mkdtemp(prefix="kanava-test-pg-"))
    server = EmbeddedPostgres(folder)
    server.start()
    yield server.url("postgres")
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def database_url(postgres_server: str) -> str:
    """A new, migrated database for one test."""
    return await fresh_database(postgres_server)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def shared_database_url(postgres_server: str) -> str:
    return await fresh_database(postgres_server)


@pytest.fixture
async def conn(shared_database_url: str) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    engine = create_async_engine(shared_database_url)
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()
    await engine.dispose()


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A server of the test's own, which the test may stop and start."""
    server = EmbeddedPostgres(tmp_path)
    server.start()
    yield server
    server.stop()
