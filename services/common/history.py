"""History retention: the stories of a service, deleted whole once silent for long enough.

A story (a chat contact, an enrolment, a feedback recipient, a contact record) is what a
service derives together from its facts. Once its newest fact is older than the history
cutoff, and it is not still open, its facts and derived rows go in one transaction; the
per-day figures stay, so no figure changes. An event that later names a forgotten story
starts a new one (docs/operations.md, "Retention").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.sql import fetch


@dataclass(frozen=True)
class Stories:
    """Where a service keeps its stories: every table keyed by the story's `key` column."""

    key: str
    facts: str
    """The table whose `time` column says when a story last changed."""
    derived: tuple[str, ...] = ()
    still_open: str = ""
    """A SELECT of the keys of stories kept whatever their age (clients still waiting)."""
    first_locked: tuple[str, ...] = ()
    """The tables a batch touches first (default: the facts): locked before anything else,
    so a batch either finishes before or starts after (never reads a story half deleted),
    and no deadlock."""

    def statement(self) -> str:
        closed = (
            f"SELECT {self.key} FROM {self.facts} WHERE {self.key} IS NOT NULL "
            f"GROUP BY {self.key} HAVING max(time) < $1"
        )
        if self.still_open:
            closed += f" EXCEPT {self.still_open}"
        deletes = ",\n".join(
            f"d{n} AS (DELETE FROM {table} WHERE {self.key} IN (SELECT {self.key} FROM closed) "
            "RETURNING 1)"
            for n, table in enumerate((self.facts, *self.derived))
        )
        counts = ", ".join(f"(SELECT count(*) FROM d{n})" for n in range(len(self.derived) + 1))
        return f"WITH closed AS ({closed}),\n{deletes}\nSELECT {counts}"

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.facts, *self.derived)


async def forget_stories(
    conn: AsyncConnection, stories: Stories, before: datetime
) -> dict[str, int]:
    """Delete the closed stories last changed before `before`; rows deleted per table. The
    lock is taken only when some fact is that old (at most once a month after the first)."""
    old = f"SELECT EXISTS (SELECT 1 FROM {stories.facts} WHERE time < :before)"
    if not await conn.scalar(text(old), {"before": before}):
        return dict.fromkeys(stories.tables, 0)
    locked = ", ".join(stories.first_locked or (stories.facts,))
    await conn.execute(text(f"LOCK TABLE {locked} IN ACCESS EXCLUSIVE MODE"))
    [row] = await fetch(conn, stories.statement(), before)
    return dict(zip(stories.tables, (int(n) for n in row), strict=True))
