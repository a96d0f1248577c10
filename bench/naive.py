"""The consumer a tutorial would write: auto commit, json.loads, one ORM row and one
database commit per event. The yardstick the service's throughput is compared with."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer
from sqlalchemy import DateTime, String
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class EventRow(Base):
    """An event's id, type and time and two of its data fields (chat: contact_id and
    queue_id; feedback: recipient and survey_id)."""

    __tablename__ = "bench_naive_events"

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    type: Mapped[str] = mapped_column(String)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data_1: Mapped[str | None] = mapped_column(String, nullable=True)
    data_2: Mapped[str | None] = mapped_column(String, nullable=True)


@dataclass(frozen=True)
class NaiveResult:
    events: int
    seconds: float
    startup_seconds: float
    stopped_by_time: bool

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


async def run_naive(
    bootstrap: str,
    database_url: str,
    topic: str,
    fields: tuple[str, str],
    limit: int,
    max_seconds: float,
) -> NaiveResult:
    """Consume up to `limit` events from the beginning of `topic` (own group), at most
    `max_seconds` after the first event, storing the two data `fields` of each; timed from
    the first event to the last commit."""
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = async_sessionmaker(engine)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id="bench_naive",
        enable_auto_commit=True,
        auto_offset_reset="earliest",
    )
    started = time.monotonic()
    await consumer.start()
    try:
        async with asyncio.timeout(max_seconds + 60), sessions() as session:
            return await _consume(consumer, session, fields, limit, max_seconds, started)
    finally:
        await consumer.stop()
        await engine.dispose()


async def _consume(
    consumer: AIOKafkaConsumer,
    session: AsyncSession,
    fields: tuple[str, str],
    limit: int,
    max_seconds: float,
    started: float,
) -> NaiveResult:
    count, first = 0, 0.0
    async for message in consumer:
        if count == 0:
            first = time.monotonic()
        event = json.loads(message.value)
        data = event["data"]
        session.add(
            EventRow(
                event_id=event["id"],
                type=event["type"],
                time=datetime.fromisoformat(event["time"]),
                data_1=data.get(fields[0]),
                data_2=data.get(fields[1]),
            )
        )
        await session.commit()
        count += 1
        elapsed = time.monotonic() - first
        if count >= limit or elapsed >= max_seconds:
            return NaiveResult(count, elapsed, first - started, count < limit)
    return NaiveResult(count, time.monotonic() - first, first - started, False)
