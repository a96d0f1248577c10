"""SQL of the feedback endpoints: the tables feedback_ingest keeps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.periods import Selection
from services.gateway.sql import sums

_NPS_SUMS = sums(
    "promoters", "passives", "detractors", sent="surveys_sent", failed="delivery_failed"
)


def _units(units: list[str] | None) -> str:
    return "" if units is None else " AND unit_id = ANY(CAST(:units AS text[]))"


async def nps_sums(
    conn: AsyncConnection, sel: Selection, units: list[str] | None, by_unit: bool
) -> list[Any]:
    columns, group = sel.grouping("day", "unit_id" if by_unit else None)
    return list(
        await conn.execute(
            text(
                f"SELECT {columns}, {_NPS_SUMS} FROM feedback_unit_daily "
                "WHERE day BETWEEN :first AND :last"
                f"{_units(units)} GROUP BY {group} ORDER BY {group}"
            ),
            {"first": sel.first, "last": sel.last, "units": units},
        )
    )


async def responses_by_unit(
    conn: AsyncConnection, sel: Selection, units: list[str] | None
) -> dict[str, int]:
    rows = await conn.execute(
        text(
            f"SELECT unit_id, {sums(n='promoters + passives + detractors')} "
            "FROM feedback_unit_daily WHERE day BETWEEN :first AND :last"
            f"{_units(units)} GROUP BY unit_id"
        ),
        {"first": sel.first, "last": sel.last, "units": units},
    )
    return {r.unit_id: r.n for r in rows}


async def comments(
    conn: AsyncConnection, sel: Selection, units: list[str], limit: int
) -> list[Any]:
    return list(
        await conn.execute(
            text(
                "SELECT day, unit_id, service_area, score, text FROM feedback_comments "
                "WHERE day BETWEEN :first AND :last AND unit_id = ANY(CAST(:units AS text[])) "
                "ORDER BY time DESC, event_id LIMIT :limit"
            ),
            {"first": sel.first, "last": sel.last, "units": units, "limit": limit},
        )
    )


async def suppression(conn: AsyncConnection, recipient: str) -> Any:
    rows = await conn.execute(
        text("SELECT since, reason FROM feedback_suppressions WHERE recipient = :r"),
        {"r": recipient},
    )
    return rows.one_or_none()


async def suppress(conn: AsyncConnection, recipient: str, reason: str) -> Any:
    """Suppress from now on, or keep the earlier suppression; the row as it now stands."""
    rows = await conn.execute(
        text(
            "INSERT INTO feedback_suppressions (recipient, since, reason) "
            "VALUES (:r, now(), :reason) "
            "ON CONFLICT (recipient) DO UPDATE SET recipient = EXCLUDED.recipient "
            "RETURNING since, reason"
        ),
        {"r": recipient, "reason": reason},
    )
    return rows.one()
