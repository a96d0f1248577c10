"""Database access shared by every service: engine, migrations, retry of transient failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")

_RETRYABLE_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "53300"}


def create_engine(url: str, pool_size: int = 4) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, pool_pre_ping=True)


def migrate(url: str) -> None:
    """Bring the schema to the newest revision (Alembic); safe to run at every start."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def is_transient(exc: BaseException) -> bool:
    """Connection loss, server restart, serialization failure: worth retrying the same batch."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    candidates = [exc, exc.__cause__]
    if isinstance(exc, sa_exc.DBAPIError):
        candidates += [exc.orig, exc.orig.__cause__ if exc.orig else None]
    return any(
        isinstance(c, OSError | asyncpg.PostgresConnectionError | asyncpg.InterfaceError)
        or getattr(c, "sqlstate", None) in _RETRYABLE_SQLSTATES
        for c in candidates
        if c is not None
    )


async def retry_transient(
    work: Callable[[], Awaitable[T]],
    what: str,
    on_retry: Callable[[BaseException], None] | None = None,
    max_delay: float = 10.0,
) -> T:
    """Run `work` until it succeeds; wait with exponential backoff while the database is away."""
    delay = 0.2
    while True:
        try:
            return await work()
        except Exception as exc:
            if not is_transient(exc):
                raise
            if on_retry:
                on_retry(exc)
            log.warning(
                "%s: database unavailable (%s), retrying in %.1f s", what, type(exc).__name__, delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
