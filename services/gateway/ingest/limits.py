"""Request limits of the ingest endpoints: body size and a rate per token."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from services.common.i18n import N_
from services.gateway.errors import ApiError

MAX_BODY_BYTES = 5 << 20
MAX_EVENTS = 5000


@dataclass
class RateLimit:
    """A token bucket per caller: `rate` requests a second, bursts of `burst`."""

    rate: float
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, caller: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        tokens, since = self._buckets.get(caller, (self.burst, now))
        tokens = min(self.burst, tokens + (now - since) * self.rate)
        if tokens < 1:
            wait = (1 - tokens) / self.rate
            raise ApiError(
                429,
                "rate_limited",
                N_("slow down: retry in {seconds:.1f} s"),
                {"Retry-After": str(max(1, round(wait)))},
                seconds=wait,
            )
        self._buckets[caller] = (tokens - 1, now)
