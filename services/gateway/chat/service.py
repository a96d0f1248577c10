"""The chat endpoints' rows, built from the summed counts (docs/metrics.md, Chat)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from services.common import formulas
from services.common.chat_forecast import (
    HourForecast,
    QueueHistory,
    forecast_days,
)
from services.common.i18n import Language
from services.common.registry import Queue, Registry
from services.gateway.chat.repository import (
    Agents,
    BotCounts,
    Now,
    OpenVisits,
    QueueCounts,
    QueueSums,
)
from services.gateway.chat.schemas import (
    ChatForecast,
    ChatStatsRow,
    ForecastRow,
    QueueForecast,
    QueueNow,
    QueuesNow,
)

# A queue missing from the registry counts with the registry's default seconds.
DEFAULT_SERVICE_LEVEL_SECONDS: int = Queue.model_fields["service_level_seconds"].default
_NO_VISITS, _NO_AGENTS, _NO_BOT = OpenVisits(0, None, 0), Agents(0, 0, 0), BotCounts(0, 0)


def service_level_seconds(registry: Registry, queue_id: str) -> int:
    queue = registry.queue(queue_id)
    return queue.service_level_seconds if queue else DEFAULT_SERVICE_LEVEL_SECONDS


def service_level(c: QueueCounts) -> float | None:
    return formulas.service_level(c.answered_within_sl, c.answered, c.abandoned, c.short_abandoned)


def queues_now(
    registry: Registry, visible: list[str] | None, found: Now, tz: ZoneInfo, language: Language
) -> QueuesNow:
    now = datetime.now(UTC)
    local = now.astimezone(tz)
    return QueuesNow(
        as_of=now,
        queues=[
            queue_now(queue, found, now, local, language)
            for queue in registry.queues
            if visible is None or queue.id in visible
        ],
    )


def queue_now(
    queue: Queue, found: Now, now: datetime, local: datetime, language: Language
) -> QueueNow:
    waiting, oldest, active = found.visits.get(queue.id, _NO_VISITS)
    available, slots, on_duty = found.agents.get(queue.id, _NO_AGENTS)
    today = found.today.get(queue.id)
    return QueueNow(
        queue_id=queue.id,
        name=queue.name_in(language),
        unit_id=queue.unit,
        open=queue.is_open(local),
        waiting=waiting,
        oldest_wait_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        active=active,
        agents_available=available,
        capacity_slots=slots,
        professionals_on_duty=on_duty,
        service_level_seconds=queue.service_level_seconds,
        service_level_today=None if today is None else service_level(today),
    )


def stats_rows(
    registry: Registry,
    sums: list[QueueSums],
    p90: dict[tuple[str, str | None], float],
    bots: dict[str, BotCounts] | None,
) -> list[ChatStatsRow]:
    """A row per period (and queue); `bots` only county-wide, else None."""
    return [
        stats_row(
            registry,
            r,
            p90.get((r.period, r.key)),
            None if bots is None else bots.get(r.period, _NO_BOT),
        )
        for r in sums
    ]


def stats_row(
    registry: Registry, row: QueueSums, wait_p90: float | None, bot: BotCounts | None
) -> ChatStatsRow:
    c = row.counts
    thresholds = {service_level_seconds(registry, queue) for queue in row.queues}
    return ChatStatsRow(
        period=row.period,
        queue_id=row.key,
        offered=c.offered,
        answered=c.answered,
        abandoned=c.abandoned,
        short_abandoned=c.short_abandoned,
        transferred_out=c.transferred_out,
        service_level=service_level(c),
        service_level_seconds=thresholds.pop() if len(thresholds) == 1 else None,
        abandon_rate=formulas.abandon_rate(c.answered, c.abandoned, c.short_abandoned),
        asa_seconds=formulas.asa_seconds(c.answered_wait_ms, c.answered),
        wait_p90_seconds=wait_p90,
        aht_seconds=formulas.aht_seconds(c.handle_ms, c.closed),
        resolved_rate=formulas.resolved_rate(c.resolved_true, c.resolved_known),
        bot_sessions=None if bot is None else bot.sessions,
        bot_resolved=None if bot is None else bot.resolved,
        bot_handovers=c.bot_handovers,
    )


def forecast(
    queues: list[Queue],
    histories: dict[str, QueueHistory],
    days: list[date],
    tz: ZoneInfo,
    language: Language,
) -> ChatForecast:
    hours = {q.id: forecast_days(q, histories[q.id], days, tz) for q in queues}
    return ChatForecast(
        as_of=datetime.now(UTC),
        days=days,
        queues=[queue_forecast(q, histories[q.id], hours[q.id], language) for q in queues],
        rows=[forecast_row(q.id, histories[q.id], hour) for q in queues for hour in hours[q.id]],
    )


def queue_forecast(
    queue: Queue, history: QueueHistory, hours: list[HourForecast], language: Language
) -> QueueForecast:
    return QueueForecast(
        queue_id=queue.id,
        name=queue.name_in(language),
        unit_id=queue.unit,
        service_level_seconds=queue.service_level_seconds,
        target_ratio=queue.service_level_target,
        handle_seconds=history.handle_seconds,
        patience_seconds=history.patience_seconds,
        concurrency=history.concurrency,
        model=next((h.model for h in hours if h.model is not None), None),
        professionals_on_duty=history.on_duty,
    )


def forecast_row(queue_id: str, history: QueueHistory, hour: HourForecast) -> ForecastRow:
    return ForecastRow(
        queue_id=queue_id,
        hour=hour.start,
        open=hour.open,
        holiday=hour.holiday,
        expected_offered=hour.expected_offered,
        handle_seconds=history.handle_seconds,
        concurrency=history.concurrency,
        professionals_advised=hour.professionals,
        professionals_on_duty=history.on_duty,
        expected_service_level=hour.service_level,
    )
