"""How contact events change contact_metrics' state: the current record of each contact and
the per-day counts (docs/events.md, docs/metrics.md). Contacts are keyed by contact id, so one
partition holds every version of a contact: no locks needed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.consumer import BackgroundTask, Consumed, periodic
from services.common.registry import Registry
from services.contact_metrics import exports, repository
from services.contact_metrics.exports import WINDOWS, Share, unit_shares
from services.contact_metrics.records import DailyKey, changes, from_event, latest


class ContactMetrics:
    def __init__(self, registry: Registry, tz: ZoneInfo, digital: Sequence[str]) -> None:
        self.tz = tz
        self.digital = tuple(digital)
        self.service_area_of = {u.id: u.service_area for u in registry.units}
        self.shares: dict[str, dict[str, Share]] = {}
        self._pending: Counter[DailyKey] = Counter()

    async def apply(self, conn: AsyncConnection, events: Sequence[Consumed]) -> None:
        candidates = latest(from_event(c.event, self.service_area_of) for c in events)
        stored = await repository.load_records(conn, candidates)
        replacing, deltas = changes(candidates.values(), stored, self.tz)
        await repository.replace_records(conn, replacing, self.tz)
        await repository.add_daily(conn, deltas)
        self._pending = deltas

    def committed(self, events: Sequence[Consumed]) -> None:
        pending, self._pending = self._pending, Counter()
        exports.count(pending)

    async def restore(self, conn: AsyncConnection, partitions: Collection[int]) -> None:
        """No state per partition: the gauges come from Postgres."""

    def release(self, partitions: Collection[int]) -> None:
        """No state per partition."""

    async def refresh(self, engine: AsyncEngine, today: date | None = None) -> None:
        today = today or datetime.now(UTC).astimezone(self.tz).date()
        first = today - timedelta(days=max(WINDOWS.values()) - 1)
        async with engine.begin() as conn:
            await repository.record_channel_set(conn, self.digital)
            rows = await repository.unit_day_counts(conn, first, today, self.digital)
        self.shares = unit_shares((tuple(r) for r in rows), today)

    def tasks(self, refresh_seconds: float) -> tuple[BackgroundTask, ...]:
        return (periodic(refresh_seconds, self.refresh, "contact_metrics: digital share refresh"),)
