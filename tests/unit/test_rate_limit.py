"""The ingest rate limit: a token bucket per caller."""

from __future__ import annotations

import pytest

from services.gateway.errors import ApiError
from services.gateway.ingest.limits import RateLimit


def test_a_burst_then_the_rate() -> None:
    limit = RateLimit(rate=2, burst=3)
    for _ in range(3):
        limit.take("a", now=100.0)
    with pytest.raises(ApiError) as refused:
        limit.take("a", now=100.0)
    assert (refused.value.status_code, refused.value.code) == (429, "rate_limited")
    assert refused.value.headers == {"Retry-After": "1"}  # 1 token at 2/s: 0.5 s, at least 1
    limit.take("b", now=100.0)  # another caller has its own bucket
    limit.take("a", now=100.5)  # half a second gives one token back
    with pytest.raises(ApiError):
        limit.take("a", now=100.5)
    for _ in range(3):
        limit.take("a", now=200.0)  # refilled, never above the burst
    with pytest.raises(ApiError):
        limit.take("a", now=200.0)
