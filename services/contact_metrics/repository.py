"""SQL of contact_metrics: current records, per-day counts, the digital-channel sets used."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.figures import local_day
from services.common.history import Stories
from services.common.sql import BulkInsert, CountsTable, fetch
from services.contact_metrics.month_counts import MonthCount
from services.contact_metrics.records import DIMENSIONS, ContactRecord, DailyKey

STORIES = Stories(key="contact_id", facts="contact_records")
"""A contact's current record: it takes the place of the contact's facts."""

_RECORD_FIELDS = ContactRecord._fields
"""contact_id, event_id, time, the DIMENSIONS, professional_group."""
_UPSERT_RECORDS = BulkInsert(
    "contact_records",
    {
        "contact_id": "text",
        "event_id": "text",
        "time": "timestamptz",
        "day": "date",
        **dict.fromkeys(DIMENSIONS, "text"),
        "professional_group": "text",
    },
    "ON CONFLICT (contact_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in ("event_id", "time", "day", *DIMENSIONS))
    + ", professional_group = EXCLUDED.professional_group",
)
_DAILY = CountsTable(
    "contact_daily", {"day": "date", **dict.fromkeys(DIMENSIONS, "text")}, ["contacts"]
)
_NEWER_COUNTS = BulkInsert(
    "contact_month_counts",
    {
        "month": "date",
        "unit_id": "text",
        "channel": "text",
        "export": "text",
        "service_area": "text",
        "contacts": "bigint",
        "event_id": "text",
        "time": "timestamptz",
    },
    "ON CONFLICT (month, unit_id, channel, export) DO UPDATE SET "
    "service_area = EXCLUDED.service_area, contacts = EXCLUDED.contacts, "
    "event_id = EXCLUDED.event_id, time = EXCLUDED.time "
    "WHERE (EXCLUDED.time, EXCLUDED.event_id) "
    "> (contact_month_counts.time, contact_month_counts.event_id)",
)


async def load_records(conn: AsyncConnection, ids: Collection[str]) -> dict[str, ContactRecord]:
    rows = await fetch(
        conn,
        f"SELECT {', '.join(_RECORD_FIELDS)} FROM contact_records "
        "WHERE contact_id = ANY($1::text[])",
        list(ids),
    )
    return {row[0]: ContactRecord(*row) for row in rows}


async def replace_records(
    conn: AsyncConnection, records: Sequence[ContactRecord], tz: ZoneInfo
) -> None:
    # A record's fields in column order, its local day after its time.
    await _UPSERT_RECORDS.run(conn, [(*r[:3], local_day(r.time, tz), *r[3:]) for r in records])


async def add_daily(conn: AsyncConnection, deltas: Mapping[DailyKey, int]) -> None:
    await _DAILY.add(conn, {(*key, "contacts"): n for key, n in deltas.items()})


async def replace_month_counts(conn: AsyncConnection, counts: Sequence[MonthCount]) -> None:
    """Store each count unless the stored one of its key is later; `counts` holds one count
    per key, in key order."""
    await _NEWER_COUNTS.run(conn, counts)


async def unit_day_counts(
    conn: AsyncConnection, first: date, last: date, digital: Sequence[str]
) -> list[Any]:
    """(unit_id, day, contacts, digital contacts) for the days first..last."""
    return await fetch(
        conn,
        "SELECT unit_id, day, sum(contacts)::bigint, "
        "coalesce(sum(contacts) FILTER (WHERE channel = ANY($3::text[])), 0)::bigint "
        "FROM contact_daily WHERE day BETWEEN $1 AND $2 GROUP BY unit_id, day",
        first,
        last,
        list(digital),
    )


async def record_channel_set(conn: AsyncConnection, channels: Sequence[str]) -> None:
    """Remember that this set of digital channels was in use now (reports name it)."""
    await fetch(
        conn,
        "INSERT INTO contact_digital_channel_sets (channels) VALUES ($1) "
        "ON CONFLICT (channels) DO UPDATE SET last_used_at = now()",
        ",".join(sorted(channels)),
    )
