"""Periodic work beside a consumer: run now, then every `interval` seconds, until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from services.common.db import is_transient

log = logging.getLogger(__name__)


async def every(
    interval: float, work: Callable[[], Awaitable[None]], stop: asyncio.Event, what: str
) -> None:
    """A failure is logged and retried next round; a stop request ends the wait at once."""
    while not stop.is_set():
        try:
            await work()
        except Exception as exc:
            if not is_transient(exc):
                log.exception("%s failed", what)
            else:
                log.warning("%s: database unavailable (%s)", what, type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
