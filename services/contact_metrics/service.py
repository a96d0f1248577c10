"""How contact events change contact_metrics' state: the current record of each contact and
the per-day counts, and the monthly counts made elsewhere, kept apart (docs/events.md,
docs/metrics.md). Contacts are keyed by contact id, so one partition holds every version of a
contact: no locks needed. Monthly counts replace by (event time, event id) in the upsert itself,
so they need none either."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.consumer import BackgroundTask, Consumed, Domain, periodic
from services.common.events import ContactEvent, ContactMonthCounted, ContactRecorded
from services.common.registry import Registry
from services.contact_metrics import exports, month_counts, repository
from services.contact_metrics.exports import WINDOWS, Share, unit_shares
from services.contact_metrics.records import DailyKey, changes, from_event, latest


class ContactMetrics(Domain[ContactEvent, Counter[DailyKey]]):
    def __init__(self, registry: Registry, tz: ZoneInfo, digital: Sequence[str]) -> None:
        self.tz = tz
        self.digital = tuple(digital)
        self.service_area_of = {u.id: u.service_area for u in registry.units}
        self.shares: dict[str, dict[str, Share]] = {}

    async def apply(
        self, conn: AsyncConnection, events: Sequence[Consumed[ContactEvent]]
    ) -> Counter[DailyKey]:
        counted = [
            month_counts.from_event(c.event, self.service_area_of)
            for c in events
            if isinstance(c.event, ContactMonthCounted)
        ]
        await repository.replace_month_counts(conn, month_counts.latest(counted))
        candidates = latest(
            from_event(c.event, self.service_area_of)
            for c in events
            if isinstance(c.event, ContactRecorded)
        )
        stored = await repository.load_records(conn, candidates)
        replacing, deltas = changes(candidates.values(), stored, self.tz)
        await repository.replace_records(conn, replacing, self.tz)
        await repository.add_daily(conn, deltas)
        return deltas

    def committed(self, deltas: Counter[DailyKey]) -> None:
        exports.count(deltas)

    async def refresh(self, engine: AsyncEngine, today: date | None = None) -> None:
        today = today or datetime.now(UTC).astimezone(self.tz).date()
        first = today - timedelta(days=max(WINDOWS.values()) - 1)
        async with engine.begin() as conn:
            await repository.record_channel_set(conn, self.digital)
            rows = await repository.unit_day_counts(conn, first, today, self.digital)
        self.shares = unit_shares((tuple(r) for r in rows), today)

    def tasks(self, refresh_seconds: float) -> tuple[BackgroundTask, ...]:
        return (periodic(refresh_seconds, self.refresh, "contact_metrics: digital share refresh"),)
