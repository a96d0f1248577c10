"""When a consumer cannot go on: why, since when, and when to try again.

A stalled consumer stays up, says why on /healthz (503) and in `kanava_consumer_stalled`, and
retries with backoff from the offsets stored in PostgreSQL, so it skips nothing and resumes
by itself once the cause is gone (see docs/operations.md, "A stalled consumer").
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from aiokafka.errors import KafkaError

from services.common import metrics

DATABASE_UNAVAILABLE = "database_unavailable"


def fetch_failure_reason(exc: BaseException) -> str:
    """A bounded label for a failed fetch: the Kafka client's error class in snake case
    (`UnsupportedCodecError` → `unsupported_codec`), anything else `fetch_failed`."""
    if not isinstance(exc, KafkaError):
        return "fetch_failed"
    name = re.sub(r"(Error|Exception)$", "", type(exc).__name__) or "kafka"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def describe(exc: BaseException) -> str:
    """The error's class and message, once (Kafka errors already start with their class)."""
    name, message = type(exc).__name__, str(exc)
    return message if message.startswith(name) else f"{name}: {message}"


@dataclass(frozen=True, slots=True)
class Stall:
    reason: str
    detail: str
    since: float  # wall-clock seconds


class StallWatch:
    """The stall of one consumer. A fetch stall clears only after `quiet_seconds` without the
    error: a partition that cannot be read fails again within one fetch round after each
    retry, while the other partitions' records come through in between."""

    def __init__(
        self,
        service: str,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
        quiet_seconds: float = 5.0,
    ) -> None:
        self.service = service
        self.first_delay, self.max_delay, self.quiet_seconds = first_delay, max_delay, quiet_seconds
        self.current: Stall | None = None
        self._failures = 0
        self._last_failure = 0.0

    def failed(self, reason: str, detail: str) -> float:
        """Record a failure; returns how long to wait before the next try."""
        if self.current is None or self.current.reason != reason:
            self._set(Stall(reason, detail[:500], time.time()))
        self._failures += 1
        self._last_failure = time.monotonic()
        return delay_after(self._failures, self.first_delay, self.max_delay)

    def fetched(self) -> None:
        """A fetch succeeded: clear a fetch stall once the error has stayed away long enough."""
        if self.current is None or self.current.reason == DATABASE_UNAVAILABLE:
            return
        if time.monotonic() - self._last_failure >= self.quiet_seconds:
            self._set(None)

    def stored(self) -> None:
        """A batch was stored: the database is back."""
        if self.current is not None and self.current.reason == DATABASE_UNAVAILABLE:
            self._set(None)

    def _set(self, stall: Stall | None) -> None:
        if self.current is not None:
            metrics.STALLED.labels(self.service, self.current.reason).set(0)
        if stall is not None:
            metrics.STALLED.labels(self.service, stall.reason).set(1)
        self.current = stall
        self._failures = 0


def delay_after(failures: int, first: float, most: float) -> float:
    """Exponential backoff: first, twice that, four times … capped at `most`."""
    return float(min(first * 2 ** max(failures - 1, 0), most))
