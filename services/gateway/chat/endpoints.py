"""GET /v1/chat/queues and GET /v1/chat/stats (docs/api.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from services.gateway.auth.dependencies import Reader
from services.gateway.chat import repository
from services.gateway.chat.schemas import ChatStats, ChatStatsRow, QueueNow, QueuesNow
from services.gateway.context import GatewayContext, context
from services.gateway.periods import Selected, Selection
from services.gateway.scope import visible_queues

router = APIRouter(prefix="/v1/chat", tags=["chat"])
Context = Annotated[GatewayContext, Depends(context)]


@router.get("/queues", response_model=QueuesNow)
async def queues_now(ctx: Context, who: Reader) -> QueuesNow:
    """The chat queues now: waiting clients, the oldest wait, conversations, free capacity."""
    everything = Selection(ctx.today(), ctx.today(), "total", None, None, None, None)
    visible = visible_queues(ctx, who, everything)
    async with ctx.engine.connect() as conn:
        visits = await repository.open_visits(conn)
        agents = await repository.available_agents(conn)
        levels = await repository.service_levels(conn, ctx.today())
    now = datetime.now(UTC)
    local = now.astimezone(ctx.tz)
    queues = []
    for queue in ctx.registry.queues:
        if visible is not None and queue.id not in visible:
            continue
        waiting, oldest, active = visits.get(queue.id, (0, None, 0))
        available, slots = agents.get(queue.id, (0, 0))
        queues.append(
            QueueNow(
                queue_id=queue.id,
                name=queue.name,
                unit_id=queue.unit,
                open=queue.is_open(local),
                waiting=waiting,
                oldest_wait_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
                active=active,
                agents_available=available,
                capacity_slots=slots,
                service_level_seconds=queue.service_level_seconds,
                service_level_today=levels.get(queue.id),
            )
        )
    return QueuesNow(as_of=now, queues=queues)


@router.get("/stats", response_model=ChatStats)
async def chat_stats(
    ctx: Context,
    who: Reader,
    sel: Selected,
    by: Annotated[
        str | None, Query(pattern="^queue$", description="`queue`: one row per queue and period")
    ] = None,
) -> ChatStats:
    """Queue figures per period (docs/metrics.md), exact for any range: sums of the stored days,
    the 90th percentile over the stored visits."""
    queues = visible_queues(ctx, who, sel)
    by_queue = by == "queue" or sel.queue_id is not None
    county_wide = queues is None and not by_queue
    async with ctx.engine.connect() as conn:
        sums = await repository.queue_sums(conn, sel, queues, by_queue)
        p90 = await repository.wait_p90(conn, sel, queues, by_queue)
        bots = await repository.bot_sums(conn, sel) if county_wide else {}
    return ChatStats(rows=[stats_row(ctx, r, p90, bots, county_wide) for r in sums])


def stats_row(
    ctx: GatewayContext,
    r: Any,
    p90: dict[tuple[str, str | None], float],
    bots: dict[str, tuple[int, int]],
    county_wide: bool,
) -> ChatStatsRow:
    base = r.answered + r.abandoned - r.short_abandoned
    thresholds = {
        q.service_level_seconds if (q := ctx.registry.queue(queue)) else 60 for queue in r.queues
    }
    sessions, resolved = bots.get(r.period, (0, 0))
    return ChatStatsRow(
        period=r.period,
        queue_id=r.key,
        offered=r.offered,
        answered=r.answered,
        abandoned=r.abandoned,
        short_abandoned=r.short_abandoned,
        transferred_out=r.transferred_out,
        service_level=r.within_sl / base if base else None,
        service_level_seconds=thresholds.pop() if len(thresholds) == 1 else None,
        abandon_rate=(r.abandoned - r.short_abandoned) / base if base else None,
        asa_seconds=r.wait_ms / 1000 / r.answered if r.answered else None,
        wait_p90_seconds=p90.get((r.period, r.key)),
        aht_seconds=r.handle_ms / 1000 / r.closed if r.closed else None,
        resolved_rate=r.resolved_true / r.resolved_known if r.resolved_known else None,
        bot_sessions=sessions if county_wide else None,
        bot_resolved=resolved if county_wide else None,
        bot_handovers=r.bot_handovers,
    )
