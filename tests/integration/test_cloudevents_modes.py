"""Both CloudEvents content modes on Kafka, as the official SDK's Kafka binding writes them, to
each real service process: binary (attributes in ce_* headers, the data alone in the value)
and structured (the whole event in the value) count the same, an event sent in both modes
counts once, and records with bad headers go to `<topic>.dlq` with their reason."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.test_dead_letters import read_all
from tests.integration.test_kafka_codecs import CASES, Case, wait_outcomes
from tests.support.harness import wait_consumed
from tests.support.third_party import Record, binary, send_with_librdkafka, structured


def spoiled(record: Record) -> list[tuple[Record, str]]:
    """A binary record with one header broken in each of the ways a producer may break it,
    and the reason each is dead-lettered with."""
    key, value, headers = record

    def replaced(name: str, new: bytes | None) -> Record:
        return key, value, [(n, new if n == name else v) for n, v in headers if new or n != name]

    return [
        (replaced("ce_id", b"\xff\xfeid"), "invalid_header"),
        (replaced("ce_type", None), "unknown_type"),
        (replaced("ce_source", None), "missing_field"),
        (replaced("content-type", b"text/plain"), "unsupported_content_type"),
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.service)
async def test_binary_and_structured_records_count_once_and_bad_headers_are_dead_lettered(
    case: Case, own_broker: str, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    service = case.start(own_broker, database_url, tmp_path)
    events = case.batch("ce")
    modes = [binary, structured]
    records = [modes[n % 2](case.stream, event) for n, event in enumerate(events)]
    records += [structured(case.stream, events[0]), binary(case.stream, events[1])]
    poison = spoiled(binary(case.stream, events[0]))
    records += [record for record, _ in poison]
    await asyncio.to_thread(send_with_librdkafka, own_broker, case.stream.topic, records)
    await wait_consumed(engine, case.service, len(records), within=60)
    expected = {
        "processed": case.unique,
        "duplicate": len(events) - case.unique + 2,
        "dead_lettered": len(poison),
    }
    await wait_outcomes(service, case.service, expected)
    await asyncio.sleep(1)  # a refresh of the gauges read from PostgreSQL
    exposition = await service.metrics()
    assert service.stop() == 0

    await case.check(exposition, engine, 1)
    dead = await read_all(own_broker, case.stream.dead_letter_topic, len(poison))
    reasons = Counter(headers["kanava-error"].decode() for *_, headers in dead)
    assert reasons == Counter(reason for _, reason in poison)
    for *_, headers in dead:
        assert headers["ce_specversion"] == b"1.0", "the original headers are kept"
        assert headers["kanava-service"].decode() == case.service
