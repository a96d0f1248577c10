"""`kanava skip-records`: the operator's way past records a consumer can never read.

A consumer that cannot read a batch (a codec or corruption it cannot handle) stays stalled on
it and retries; nothing after it in that partition is counted until the cause is fixed. When
it cannot be fixed, this command sends the named records to the dead letter topic (their bytes
where they can still be read, else one marker naming the offsets) and moves the service's
stored offset past them. The stalled service reads the stored offset at its next try.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.bookkeeping import load_offsets
from services.common.consumer import DeadLetter, Record, Scrub, dead_letter
from services.common.db import create_engine
from services.common.events import CHAT, CONTACT, FEEDBACK, PATHWAY, Envelope, InvalidEvent, Stream
from services.common.producer import publish_raw, started_producer
from services.common.redaction import redact_message
from services.common.settings import Settings, get_settings

SERVICES: dict[str, tuple[Stream[Envelope], Scrub | None]] = {
    "chat_metrics": (CHAT, None),
    "pathway_metrics": (PATHWAY, None),
    "feedback_ingest": (FEEDBACK, redact_message),
    "contact_metrics": (CONTACT, None),
}
SKIPPED = "skipped_by_operator"
UNREADABLE = "unreadable"
_MOVE = text(
    """
    UPDATE consumer_offsets SET next_offset = :after, updated_at = now()
    WHERE consumer_group = :group AND topic = :topic AND partition = :partition
      AND next_offset = :first
    """
)


@dataclass(frozen=True)
class Skip:
    service: str
    partition: int
    first: int
    last: int

    @property
    def stream(self) -> Stream[Envelope]:
        return SERVICES[self.service][0]

    @property
    def count(self) -> int:
        return self.last - self.first + 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "skip-records",
        help="dead-letter records a stalled service cannot read and move its offset past them",
    )
    parser.add_argument("service", choices=sorted(SERVICES))
    parser.add_argument("partition", type=int)
    parser.add_argument(
        "--from", dest="first", type=int, required=True, help="the offset the service is stuck at"
    )
    parser.add_argument("--to", dest="last", type=int, required=True, help="last offset to skip")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    skip = Skip(args.service, args.partition, args.first, args.last)
    if skip.last < skip.first:
        print("kanava skip-records: --to is before --from", file=sys.stderr)
        return 2
    return asyncio.run(_skip(get_settings(), skip, input if not args.yes else None))


async def _skip(settings: Settings, skip: Skip, ask: Callable[[str], str] | None) -> int:
    engine = create_engine(settings.require_database_url(), pool_size=1)
    try:
        stored = await _stored_offset(engine, skip)
        problem = _refusal(skip, stored)
        if problem:
            print(f"kanava skip-records: {problem}", file=sys.stderr)
            return 1
        if ask is not None and ask(_question(skip)).strip() != skip.service:
            print("kanava skip-records: not confirmed; nothing changed")
            return 1
        letters, unread = await _read(settings.bootstrap(), skip)
        await _publish(settings.bootstrap(), skip.stream.dead_letter_topic, letters)
        async with engine.begin() as conn:
            moved = (await conn.execute(_MOVE, _move_params(skip))).rowcount
    finally:
        await engine.dispose()
    if not moved:
        print(
            f"kanava skip-records: {skip.service} moved on meanwhile; its offset is unchanged "
            "(the dead letter topic holds copies)",
            file=sys.stderr,
        )
        return 1
    print(
        f"kanava skip-records: {skip.count} records of {skip.stream.topic}/{skip.partition} "
        f"({skip.first}-{skip.last}) dead-lettered, {unread} of them unreadable; "
        f"{skip.service} goes on from offset {skip.last + 1} at its next try"
    )
    return 0


async def _stored_offset(engine: AsyncEngine, skip: Skip) -> int | None:
    async with engine.connect() as conn:
        offsets = await load_offsets(conn, skip.service, skip.stream.topic, [skip.partition])
    return offsets.get(skip.partition)


def _refusal(skip: Skip, stored: int | None) -> str | None:
    where = f"{skip.stream.topic}/{skip.partition}"
    if stored is None:
        return f"{skip.service} has stored no offset for {where}"
    if stored != skip.first:
        return (
            f"{skip.service} reads {where} from offset {stored}, not {skip.first}: "
            f"name a range that starts there"
        )
    return None


def _question(skip: Skip) -> str:
    return (
        f"{skip.service} will skip {skip.count} records of {skip.stream.topic}/{skip.partition} "
        f"(offsets {skip.first}-{skip.last}): they go to {skip.stream.dead_letter_topic} and are "
        f"never counted.\nType the service name to confirm: "
    )


def _move_params(skip: Skip) -> dict[str, object]:
    return {
        "after": skip.last + 1,
        "group": skip.service,
        "topic": skip.stream.topic,
        "partition": skip.partition,
        "first": skip.first,
    }


async def _read(bootstrap: str, skip: Skip) -> tuple[list[DeadLetter], int]:
    """The dead letters of the range: each readable record as it is, then one marker for the
    offsets that cannot be read; returns them and how many offsets the marker covers."""
    records, unread_from = await _records(bootstrap, skip)
    scrub = SERVICES[skip.service][1]
    reason = InvalidEvent(SKIPPED, "skipped by an operator with kanava skip-records")
    letters = [dead_letter(record, reason, skip.service, scrub) for record in records]
    if unread_from > skip.last:
        return letters, 0
    detail = f"offsets {unread_from}-{skip.last} could not be read"
    marker = (
        None,
        b"",
        [
            ("kanava-error", UNREADABLE.encode()),
            ("kanava-error-detail", detail.encode()),
            ("kanava-service", skip.service.encode()),
            ("kanava-original-topic", skip.stream.topic.encode()),
            ("kanava-original-partition", str(skip.partition).encode()),
            ("kanava-original-offset", str(unread_from).encode()),
            ("kanava-original-last-offset", str(skip.last).encode()),
        ],
    )
    return [*letters, marker], skip.last - unread_from + 1


async def _records(bootstrap: str, skip: Skip) -> tuple[list[Record], int]:
    """The records of the range as far as the client can read them, and the first offset it
    could not read (past `last` when every one was read)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tp = TopicPartition(skip.stream.topic, skip.partition)
    read: list[Record] = []
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, skip.first)
        while not read or read[-1].offset < skip.last:
            batch = await consumer.getmany(tp, timeout_ms=2000)
            if not batch.get(tp):
                break
            read += [r for r in batch[tp] if r.offset <= skip.last]
    except Exception as exc:
        print(f"kanava skip-records: reading stopped: {type(exc).__name__}: {exc}")
    finally:
        await consumer.stop()
    return read, (read[-1].offset + 1 if read else skip.first)


async def _publish(bootstrap: str, topic: str, letters: list[DeadLetter]) -> None:
    async with started_producer(bootstrap) as producer:
        await publish_raw(producer, topic, letters)
