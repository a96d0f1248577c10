"""What the monthly report reads: the same queries the statistics endpoints run, by queue,
unit and pathway and by month, over the month and the twelve before it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.chat import repository as chat
from services.gateway.contacts.endpoints import channel_counts
from services.gateway.feedback import repository as feedback
from services.gateway.pathways.endpoints import active_at_period_end, pathway_sums
from services.gateway.periods import Selection


@dataclass(frozen=True, slots=True)
class Stored:
    chat: list[Any]  # queue_sums rows: period, key = queue_id, sums
    bots: dict[str, tuple[int, int]] | None  # period -> (sessions, resolved); county-wide only
    nps: list[Any]  # nps_sums rows: period, key = unit_id, sums
    pathways: list[Any]  # pathway_sums rows: period, key = pathway_id, sums
    active: dict[tuple[str, str | None], int]  # (period, pathway_id) -> active at its end
    contacts: dict[tuple[str, str | None], dict[str, int]]  # (period, unit_id) -> channel -> n


async def read(
    engine: AsyncEngine,
    sel: Selection,
    units: list[str] | None,
    queues: list[str] | None,
    county_wide: bool,
) -> Stored:
    """Every figure the report shows, in one read-only transaction (one snapshot: the parts
    agree with each other even while the services write)."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        return Stored(
            chat=await chat.queue_sums(conn, sel, queues, by_queue=True),
            bots=await chat.bot_sums(conn, sel) if county_wide else None,
            nps=await feedback.nps_sums(conn, sel, units, by_unit=True),
            pathways=await pathway_sums(conn, sel, units, by_pathway=True),
            active=await active_at_period_end(conn, sel, units, by_pathway=True),
            contacts=await channel_counts(conn, sel, units, by_unit=True),
        )
