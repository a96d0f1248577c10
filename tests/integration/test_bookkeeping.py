"""Applied event ids and stored offsets, inside a transaction rolled back after each test."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.bookkeeping import claim_events, dedupe_floor, load_offsets, save_offsets

T1 = datetime(2025, 11, 3, 8, 0, tzinfo=UTC)
T2 = datetime(2025, 12, 1, 0, 0, tzinfo=UTC)


async def test_claiming_returns_only_ids_never_applied_by_the_group(conn: AsyncConnection) -> None:
    assert await claim_events(conn, "g1", [("a", T1), ("b", T1), ("b", T1), ("c", T2)]) == {
        "a",
        "b",
        "c",
    }
    assert await claim_events(conn, "g1", [("c", T2), ("d", T1), ("a", T1), ("e", T2)]) == {
        "d",
        "e",
    }
    assert await claim_events(conn, "g2", [("a", T1)]) == {"a"}
    assert await claim_events(conn, "g1", []) == set()


async def test_applied_ids_land_in_the_partition_of_their_event_month(
    conn: AsyncConnection,
) -> None:
    now = datetime.now(UTC)
    await claim_events(conn, "g", [("old", T1), ("now", now)])
    rows = await conn.execute(
        text("SELECT event_id, tableoid::regclass::text FROM applied_events ORDER BY event_id")
    )
    assert [tuple(row) for row in rows] == [
        ("now", f"applied_events_{now:%Y_%m}"),
        ("old", "applied_events_default"),
    ]


async def test_offsets_are_per_group_topic_partition_and_never_move_back(
    conn: AsyncConnection,
) -> None:
    await save_offsets(conn, "g", "chat.events", {0: 10, 1: 5})
    await save_offsets(conn, "g", "chat.events", {0: 7, 2: 3})
    await save_offsets(conn, "g", "pathway.events", {0: 99})
    await save_offsets(conn, "other", "chat.events", {0: 1})
    assert await load_offsets(conn, "g", "chat.events", [0, 1, 2, 3]) == {0: 10, 1: 5, 2: 3}
    assert await load_offsets(conn, "g", "chat.events", [1]) == {1: 5}
    assert await load_offsets(conn, "g", "contact.events", [0]) == {}


async def test_the_newest_event_time_per_partition_never_moves_back(
    conn: AsyncConnection,
) -> None:
    await save_offsets(conn, "g", "chat.events", {0: 10, 1: 5}, {0: T2, 1: T1})
    await save_offsets(conn, "g", "chat.events", {0: 12, 1: 6}, {0: T1})
    rows = await conn.execute(
        text(
            "SELECT partition, next_offset, max_event_time FROM consumer_offsets "
            "WHERE consumer_group = 'g' ORDER BY partition"
        )
    )
    assert [tuple(row) for row in rows] == [(0, 12, T2), (1, 6, T1)]


async def test_a_new_database_accepts_any_event_time_from_2000_on(conn: AsyncConnection) -> None:
    assert await dedupe_floor(conn) == datetime(2000, 1, 1, tzinfo=UTC)
