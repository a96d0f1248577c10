"""What the monthly report reads: the same queries the statistics endpoints run, by queue,
unit and pathway and by month, over the month and the twelve before it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.nps_drop import DayCounts
from services.gateway.chat import repository as chat
from services.gateway.chat.repository import BotCounts, QueueSums
from services.gateway.contacts import repository as contacts
from services.gateway.feedback import repository as feedback
from services.gateway.feedback.repository import StatementSums, SurveyCounts
from services.gateway.pathways import repository as pathways
from services.gateway.pathways.repository import PathwayCounts
from services.gateway.periods import Selection
from services.gateway.sql import Sums

Key = tuple[str, str | None]  # (month, queue, unit or pathway)


@dataclass(frozen=True, slots=True)
class Stored:
    chat: list[QueueSums]  # key: the queue
    bots: dict[str, BotCounts] | None  # by month; county-wide only
    nps: list[Sums[SurveyCounts]]  # key: the unit
    statements: list[StatementSums]  # of the month, by unit
    daily: dict[str, list[DayCounts]]  # the NPS units' responses per day, for the drop detector
    pathways: list[Sums[PathwayCounts]]  # key: the pathway
    active: dict[Key, int]  # enrolments active at the end of the month
    contacts: dict[Key, dict[str, int]]  # contacts by channel


async def read(
    engine: AsyncEngine,
    sel: Selection,
    units: list[str] | None,
    queues: list[str] | None,
    county_wide: bool,
    last_evening: date,
) -> Stored:
    """Every figure the report shows, in one read-only transaction (one snapshot: the parts
    agree with each other even while the services write); the NPS units' whole daily history
    up to `last_evening`."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        nps = await feedback.nps_sums(conn, sel, units, by_unit=True)
        nps_units = {r.key: last_evening for r in nps if r.key is not None}
        return Stored(
            chat=await chat.queue_sums(conn, sel, queues, by_queue=True),
            bots=await chat.bot_sums(conn, sel) if county_wide else None,
            nps=nps,
            statements=await feedback.statement_sums(conn, _last_month(sel), units, by_unit=True),
            daily=await feedback.daily_responses(conn, nps_units),
            pathways=await pathways.pathway_sums(conn, sel, units, by_pathway=True),
            active=await pathways.active_at_period_end(conn, sel, units, by_pathway=True),
            contacts=await contacts.channel_counts(conn, sel, units, by_unit=True),
        )


def _last_month(sel: Selection) -> Selection:
    """The selection's last month alone: the report shows the statements of its month only."""
    return replace(sel, first=sel.last.replace(day=1))
