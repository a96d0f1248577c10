"""A minimal consumer service for the runtime's tests: counts chat events per type and day.

Run as `python -m tests.support.counting_service GROUP TOPIC METRICS_PORT`; the table
`event_counts` is created by the test.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.consumer import Consumed, ConsumerApp, Domain
from services.common.events import CHAT, AgentStatus, ChatEvent
from services.common.service import run_service

HELSINKI = ZoneInfo("Europe/Helsinki")
DB_POISON = "db-poison"
"""A contact id the counting service's database step fails on, for good."""
CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS event_counts (
    event_type text NOT NULL, day date NOT NULL, n bigint NOT NULL,
    PRIMARY KEY (event_type, day))
"""
_COUNT = text(
    """
    INSERT INTO event_counts (event_type, day, n)
    SELECT t, d, count(*) FROM unnest(CAST(:types AS text[]), CAST(:days AS date[])) AS x(t, d)
    GROUP BY t, d
    ON CONFLICT (event_type, day) DO UPDATE SET n = event_counts.n + EXCLUDED.n
    """
)


class CountingDomain(Domain[ChatEvent, None]):
    async def apply(self, conn: AsyncConnection, events: Sequence[Consumed[ChatEvent]]) -> None:
        if any(_poisoned(c.event) for c in events):
            await conn.execute(text("SELECT 1 / 0"))  # the database refuses this event
        if events:
            await conn.execute(
                _COUNT,
                {
                    "types": [c.event.type for c in events],
                    "days": [c.event.time.astimezone(HELSINKI).date() for c in events],
                },
            )


def _poisoned(event: ChatEvent) -> bool:
    return not isinstance(event, AgentStatus) and event.data.contact_id == DB_POISON


def main(group: str, topic: str, port: str) -> int:
    app = ConsumerApp(group, CHAT.on_topic(topic), CountingDomain())
    return run_service(app, metrics_port=int(port))


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
