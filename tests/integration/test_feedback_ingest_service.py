"""The feedback_ingest process end to end: Kafka in, Postgres figures and Prometheus gauges out,
and no personal data left in clear anywhere (tables, dead letters, metrics)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import FEEDBACK
from services.common.hashing import hash_recipient
from services.common.producer import encode, new_producer, publish_raw
from tests.integration.test_consumer_exactness import metric_value
from tests.integration.test_dead_letters import read_all
from tests.integration.test_feedback_store import REGISTRY
from tests.support.feedback_events import answered, sent, sms
from tests.support.harness import ServiceProcess, consumer_service, wait_consumed

KEY = "test-phone-key"
PHONES = ["+358401234567", "+358505551234", "+358441112223", "+358451234321", "+358409998877"]
PHONES += ["+358407654321"]
HETU, EMAIL = "131052-308T", "maija.meikalainen@example.fi"
# what must never be found in clear, in any spelling a number is written
SECRETS = [HETU, EMAIL, "040 123 4567", "0401234567", "401234567", "050-555 12 34", "505551234"]
SECRETS += PHONES


def feedback_ingest(bootstrap: str, database_url: str, registry: Path) -> ServiceProcess:
    return consumer_service(
        "feedback_ingest",
        bootstrap,
        database_url,
        registry,
        KANAVA_FEEDBACK_REFRESH_SECONDS="0.2",
        KANAVA_PHONE_HASH_KEY=KEY,
    )


def todays_feedback() -> list[Any]:
    """Six SMS-scored surveys of u1 (10, 9, 9, 8, 6, 3) and one form-scored of u2 (7)."""
    now = datetime.now(UTC)
    people = [hash_recipient(phone, KEY) for phone in PHONES]
    people.append(hash_recipient("+358401112233", KEY))
    replies = [
        f"10 kiitos, soittakaa 040 123 4567 jos kysyttävää ({EMAIL})",
        "9",
        f"9 hyvä, lapsen hetu {HETU}",
        "8 ok, vastaan numerosta 050-555 12 34",
        "6",
        "3",
    ]
    events = [sent(f"s{n}", people[n], "u1", now - timedelta(hours=3)) for n in range(6)]
    events += [sms(people[n], reply, now - timedelta(hours=2)) for n, reply in enumerate(replies)]
    events.append(sent("s6", people[6], "u2", now - timedelta(hours=3)))
    events.append(
        answered("s6", 7, now - timedelta(hours=1), comment=f"Soittakaa 0401234567, {HETU}")
    )
    return events


def poison() -> list[bytes]:
    bad_score = {
        "specversion": "1.0",
        "id": "bad-1",
        "source": "test",
        "type": "survey.answered",
        "time": datetime.now(UTC).isoformat(),
        "data": {"survey_id": "s0", "score": 11, "comment": f"{HETU} {EMAIL} 040 123 4567"},
    }
    return [json.dumps(bad_score).encode(), f"not json: {HETU} +358401234567".encode()]


async def send(bootstrap: str, events: list[Any], raw: list[bytes]) -> None:
    producer = new_producer(bootstrap)
    await producer.start()
    try:
        messages: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = [
            (FEEDBACK.key(e), encode(e), []) for e in events
        ]
        messages += [(b"poison", value, []) for value in raw]
        await publish_raw(producer, FEEDBACK.topic, messages)
    finally:
        await producer.stop()


async def table_dump(engine: AsyncEngine) -> str:
    """Every row of every table, as text."""
    async with engine.connect() as conn:
        tables = await conn.scalars(
            text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        )
        dump: list[str] = []
        for table in tables.all():
            rows = await conn.scalars(text(f'SELECT t::text FROM "{table}" t'))
            dump += rows.all()
    return "\n".join(dump)


async def test_feedback_through_kafka_gives_gauges_and_keeps_no_personal_data(
    own_broker: str, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    service = feedback_ingest(own_broker, database_url, registry)
    service.start()
    events, raw = todays_feedback(), poison()
    await send(own_broker, events, raw)
    await wait_consumed(engine, "feedback_ingest", len(events) + len(raw))
    await asyncio.sleep(1)  # a refresh of the window gauges
    exposition = await service.metrics()
    assert service.stop() == 0

    expected = {
        ("kanava_feedback_surveys_sent_total", (("unit", "u1"),)): 6,
        ("kanava_feedback_responses_total", (("unit", "u1"), ("category", "promoter"))): 3,
        ("kanava_feedback_responses_total", (("unit", "u1"), ("category", "passive"))): 1,
        ("kanava_feedback_responses_total", (("unit", "u1"), ("category", "detractor"))): 2,
        ("kanava_feedback_responses_total", (("unit", "u2"), ("category", "passive"))): 1,
        ("kanava_feedback_replies_total", (("outcome", "scored"),)): 6,
        ("kanava_nps_responses", (("unit", "u1"), ("window", "7d"))): 6,
        ("kanava_nps_responses", (("unit", "u2"), ("window", "30d"))): 1,
        ("kanava_feedback_response_ratio", (("unit", "u1"), ("window", "28d"))): 1,
        ("kanava_nps_target", (("unit", "u1"),)): 70,
        ("kanava_nps_target", (("unit", "u2"),)): 75,
        (
            "kanava_consumer_events_total",
            (("service", "feedback_ingest"), ("outcome", "dead_lettered")),
        ): 2,
        # read once: no batch fetched before the assignment's seek is processed twice
        ("kanava_consumer_events_total", (("outcome", "processed"),)): 14,
        ("kanava_consumer_events_total", (("outcome", "duplicate"),)): 0,
    }
    for (name, labels), value in expected.items():
        assert metric_value(exposition, name, **dict(labels)) == value, (name, labels)
    # (3 promoters - 2 detractors) / 6 responses
    assert metric_value(exposition, "kanava_nps", unit="u1", window="7d") == 100 / 6
    assert 'kanava_nps{unit="u2"' not in exposition  # 1 response: suppressed

    dead = await read_all(own_broker, FEEDBACK.dead_letter_topic, 2)
    assert sorted(headers["kanava-error"] for *_, headers in dead) == [
        b"invalid_json",
        b"invalid_value",
    ]
    dump = await table_dump(engine)
    assert "[henkilötunnus]" in dump
    assert "[puhelinnumero]" in dump
    assert "[sähköposti]" in dump
    places = {"tables": dump, "dead letters": repr(dead), "metrics": exposition}
    for place, content in places.items():
        for secret in SECRETS:
            assert secret not in content, f"{secret} in clear in the {place}"
