"""GET /v1/chat/queues, /v1/chat/stats and /v1/chat/forecast (docs/api.md)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from services.common.chat_forecast import load_histories
from services.gateway.auth.dependencies import Reader
from services.gateway.chat import repository, service
from services.gateway.chat.schemas import ChatForecast, ChatStats, QueuesNow
from services.gateway.context import Connection, Context
from services.gateway.language import ReaderLanguage
from services.gateway.periods import Selected, Selection, checked_day
from services.gateway.scope import visible_queues

router = APIRouter(prefix="/v1/chat", tags=["chat"])
ByQueue = Annotated[
    str | None, Query(pattern="^queue$", description="`queue`: one row per queue and period")
]


@router.get("/queues", response_model=QueuesNow)
async def queues_now(
    ctx: Context, who: Reader, conn: Connection, language: ReaderLanguage
) -> QueuesNow:
    """The chat queues now: waiting clients, the oldest wait, conversations, free capacity;
    names in the reader's language where the registry has one."""
    day = ctx.today()
    today = Selection(day, day, "total", None, None, None, None)
    visible = visible_queues(ctx, who, today)
    found = await repository.now(conn, today)
    return service.queues_now(ctx.registry, visible, found, ctx.tz, language)


@router.get("/forecast", response_model=ChatForecast)
async def chat_forecast(
    ctx: Context,
    who: Reader,
    conn: Connection,
    language: ReaderLanguage,
    day: Annotated[date | None, Query(description="the first day shown; default today")] = None,
) -> ChatForecast:
    """Per queue and hour of a day and the next (default today and tomorrow): the chats
    expected, the professionals advised to meet the service-level target, and the
    professionals on duty now (docs/staffing.md)."""
    today = ctx.today()
    first = checked_day(day) if day else today
    visible = visible_queues(ctx, who, Selection(today, today, "total", None, None, None, None))
    queues = [q for q in ctx.registry.queues if visible is None or q.id in visible]
    histories = await load_histories(conn, [q.id for q in queues], first, today, ctx.tz)
    days = [first, first + timedelta(days=1)]
    return service.forecast(queues, histories, days, ctx.tz, language)


@router.get("/stats", response_model=ChatStats)
async def chat_stats(
    ctx: Context, who: Reader, sel: Selected, conn: Connection, by: ByQueue = None
) -> ChatStats:
    """Queue figures per period (docs/metrics.md), exact for any range: sums of the stored days,
    the 90th percentile over the stored visits."""
    queues = visible_queues(ctx, who, sel)
    by_queue = by == "queue" or sel.queue_id is not None
    county_wide = queues is None and not by_queue
    sums = await repository.queue_sums(conn, sel, queues, by_queue)
    p90 = await repository.wait_p90(conn, sel, queues, by_queue)
    bots = await repository.bot_sums(conn, sel) if county_wide else None
    return ChatStats(rows=service.stats_rows(ctx.registry, sums, p90, bots))
