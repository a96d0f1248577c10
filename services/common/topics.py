"""Creating the four topics and their dead letter topics with their final partition count."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.common.events import STREAMS


def topic_names() -> list[str]:
    return [name for s in STREAMS.values() for name in (s.topic, s.dead_letter_topic)]


async def ensure_topics(
    bootstrap: str, partitions: int, replication: int = 1, names: list[str] | None = None
) -> list[str]:
    """Create missing topics (by default the four streams and their DLQs); returns the names
    created. Existing topics are left as they are (partitions cannot be added later on every
    broker: choose the count up front)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in names or topic_names() if name not in existing]
        if missing:
            await admin.create_topics([NewTopic(name, partitions, replication) for name in missing])
        return missing
    finally:
        await admin.close()
