"""Producing as other systems do: librdkafka (confluent-kafka) in any compression codec, and the
CloudEvents SDK's Kafka binding in either content mode; and reading back which codec each
stored record batch carries, which no consumer shows."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition
from cloudevents.core.bindings import kafka
from cloudevents.core.v1.event import CloudEvent
from confluent_kafka import KafkaError, Message, Producer

from services.common.events import Envelope, Stream
from services.common.producer import encode

Record = tuple[bytes | str | None, bytes, Sequence[tuple[str, bytes | None]]]
CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
"""In the order of their number in a record batch's attributes (0-4)."""
_IDENTITIES = ("contact_id", "enrolment_id", "survey_id")


def retag(event: Any, tag: str) -> Any:
    """`event` as a new event about other people: its id and the ids of whom it is about made
    unique to `tag`, so a known set of events can be sent again and its figures add up."""
    data = event.data
    updates = {
        name: f"{tag}-{getattr(data, name)}" for name in _IDENTITIES if getattr(data, name, None)
    }
    if getattr(data, "recipient", None):
        updates["recipient"] = hashlib.sha256(f"{tag}-{data.recipient}".encode()).hexdigest()
    return event.model_copy(
        update={"id": f"{tag}-{event.id}", "data": data.model_copy(update=updates)}
    )


def plain(stream: Stream[Envelope], event: Any) -> Record:
    """Structured mode as Kanava's own producers send it: the event's JSON, no headers."""
    return stream.key(event), encode(event), []


def binary(stream: Stream[Envelope], event: Any) -> Record:
    message = kafka.to_binary_event(_cloudevent(event), key_mapper=lambda _: stream.key(event))
    return message.key, message.value, list(message.headers.items())


def structured(stream: Stream[Envelope], event: Any) -> Record:
    message = kafka.to_structured_event(_cloudevent(event), key_mapper=lambda _: stream.key(event))
    return message.key, message.value, list(message.headers.items())


def _cloudevent(event: Any) -> CloudEvent:
    attributes = {
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": event.time,
        "datacontenttype": "application/json",
    }
    return CloudEvent(attributes, event.data.model_dump(mode="json", exclude_none=True))


def send_with_librdkafka(
    bootstrap: str, topic: str, records: list[Record], codec: str = "none"
) -> None:
    """Produce with librdkafka and wait for every acknowledgement (blocking: run it in a
    thread). Idempotence is off because Tansu refuses idempotent producers."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "compression.type": codec,
            "enable.idempotence": False,
            "acks": "all",
            "linger.ms": 50,
            # Java clients' and aiokafka's partitioner: keys land where Kanava's own would.
            "partitioner": "murmur2_random",
        }
    )
    failures: list[KafkaError] = []

    def delivered(error: KafkaError | None, _: Message) -> None:
        if error is not None:
            failures.append(error)

    for key, value, headers in records:
        producer.produce(topic, value=value, key=key, headers=list(headers), on_delivery=delivered)
    assert producer.flush(30) == 0, "records left undelivered"
    assert not failures, failures


async def stored_batches(bootstrap: str, topic: str) -> list[tuple[str, list[bytes]]]:
    """The codec and record values of every batch stored in `topic`, read with raw fetch
    requests: a consumer decompresses and never says how a batch came."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    try:
        cluster = await client.fetch_all_metadata()
        partitions = sorted(cluster.partitions_for_topic(topic))
        leaders = {p: cluster.leader_for_partition(TopicPartition(topic, p)) for p in partitions}
        found: list[tuple[str, list[bytes]]] = []
        for leader in set(leaders.values()):
            wanted = [(p, 0, 4 << 20) for p in partitions if leaders[p] == leader]
            request = FetchRequest(100, 0, 16 << 20, 0, [(topic, wanted)])
            response = await client.send(leader, request)
            for _, partition_data in response.topics:
                for data in partition_data:
                    found += _batches(MemoryRecords(data[-1]))
        return found
    finally:
        await client.close()


def _batches(records: Any) -> list[tuple[str, list[bytes]]]:
    found = []
    while records.has_next():
        batch = records.next_batch()
        found.append((CODECS[batch.compression_type], [record.value for record in batch]))
    return found
