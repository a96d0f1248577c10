"""Applied event ids and stored offsets, inside a transaction rolled back after each test."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.bookkeeping import claim_events, load_offsets, save_offsets


async def test_claiming_returns_only_ids_never_applied_by_the_group(conn: AsyncConnection) -> None:
    assert await claim_events(conn, "g1", ["a", "b", "b", "c"]) == {"a", "b", "c"}
    assert await claim_events(conn, "g1", ["c", "d", "a", "e"]) == {"d", "e"}
    assert await claim_events(conn, "g2", ["a"]) == {"a"}
    assert await claim_events(conn, "g1", []) == set()


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
