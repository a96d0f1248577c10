"""Records compressed in every Kafka codec by a third-party producer (librdkafka, through
confluent-kafka) are read by each real service process and counted exactly.

One process per service reads the codecs one after another: after each codec the consumer
counters must match, at the end the stored figures must be the hand-worked ones times five,
and a raw fetch shows the batches of each codec really are stored compressed with it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import CHAT, CONTACT, FEEDBACK, PATHWAY, Envelope, Stream
from tests.integration import test_chat_metrics_store as chat_store
from tests.integration import test_contact_metrics_store as contact_store
from tests.integration import test_feedback_store as feedback_store
from tests.integration import test_pathway_metrics_store as pathway_store
from tests.integration.test_consumer_exactness import metric_value
from tests.integration.test_feedback_ingest_service import todays_feedback
from tests.support.chat_events import SCENARIO_BOT, SCENARIO_Q1, SCENARIO_Q2, scenario
from tests.support.contact_events import contact
from tests.support.harness import ServiceProcess, consumer_service, wait_consumed
from tests.support.third_party import (
    CODECS,
    plain,
    retag,
    send_with_librdkafka,
    stored_batches,
)

Check = Callable[[str, AsyncEngine, int], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    """A service, a known set of events for it and the figures of `n` retagged copies."""

    service: str
    stream: Stream[Envelope]
    registry: str
    events: Callable[[], list[Any]]
    unique: int  # distinct event ids in one set
    check: Check
    env: dict[str, str] = field(default_factory=dict)

    def batch(self, tag: str) -> list[Any]:
        return [retag(event, tag) for event in self.events()]

    def start(self, bootstrap: str, database_url: str, tmp_path: Path) -> ServiceProcess:
        registry = tmp_path / "registry.yaml"
        registry.write_text(self.registry, encoding="utf-8")
        service = consumer_service(self.service, bootstrap, database_url, registry, **self.env)
        service.start()
        return service


def times(figures: dict[Any, int], n: int) -> dict[Any, int]:
    return {name: value * n for name, value in figures.items()}


def assert_metrics(exposition: str, expected: dict[tuple[str, str], float]) -> None:
    """`expected` maps (metric, 'label=value,label=value') to the value of that sample."""
    for (metric, labels), value in expected.items():
        pairs = dict(pair.split("=") for pair in labels.split(",") if pair)
        assert metric_value(exposition, metric, **pairs) == value, (metric, labels)


async def chat_figures(exposition: str, engine: AsyncEngine, n: int) -> None:
    assert await chat_store.daily(engine, "q1") == times(SCENARIO_Q1, n)
    assert await chat_store.daily(engine, "q2") == times(SCENARIO_Q2, n)
    assert await chat_store.bot_daily(engine) == times(SCENARIO_BOT, n)
    assert_metrics(
        exposition,
        {
            ("kanava_chat_offered_total", "queue=q1"): 5 * n,
            ("kanava_chat_offered_total", "queue=q2"): n,
            ("kanava_chat_answered_total", "queue=q1"): 2 * n,
            ("kanava_chat_abandoned_total", "queue=q1,short=true"): n,
            ("kanava_chat_transferred_out_total", "queue=q1"): n,
            ("kanava_chat_handle_seconds_sum", "queue=q1"): 1200 * n,
            ("kanava_chat_bot_sessions_total", ""): 2 * n,
        },
    )


async def pathway_figures(exposition: str, engine: AsyncEngine, n: int) -> None:
    assert await pathway_store.daily(engine) == {
        key: times(figures, n) for key, figures in pathway_store.EXPECTED.items()
    }
    assert_metrics(
        exposition,
        {
            ("kanava_pathway_starts_total", "pathway=astma,start_mode=professional"): n,
            ("kanava_pathway_starts_total", "pathway=nikotiini,start_mode=self"): 2 * n,
            ("kanava_pathway_completions_total", "pathway=astma"): n,
            ("kanava_pathway_discontinued_total", "pathway=nikotiini"): n,
            ("kanava_pathway_active", "pathway=nikotiini"): n,
            ("kanava_pathway_active", "pathway=selkee"): n,
        },
    )


async def feedback_figures(exposition: str, engine: AsyncEngine, n: int) -> None:
    """Per set: u1 sends six SMS surveys scored 10, 9, 9, 8, 6, 3; u2 one form scored 7."""
    assert_metrics(
        exposition,
        {
            ("kanava_feedback_surveys_sent_total", "unit=u1"): 6 * n,
            ("kanava_feedback_responses_total", "unit=u1,category=promoter"): 3 * n,
            ("kanava_feedback_responses_total", "unit=u1,category=passive"): n,
            ("kanava_feedback_responses_total", "unit=u1,category=detractor"): 2 * n,
            ("kanava_feedback_responses_total", "unit=u2,category=passive"): n,
            ("kanava_feedback_replies_total", "outcome=scored"): 6 * n,
            ("kanava_nps_responses", "unit=u1,window=7d"): 6 * n,
            ("kanava_nps", "unit=u1,window=7d"): 100 / 6,  # (3 - 2) / 6 whatever n
        },
    )


CHANNELS = ["chat", "chat", "video", "phone", "message", "in_person", "in_person", "chat"]


def contacts() -> list[Any]:
    """Eight contacts of u1 today, and c0 recorded again under another event id."""
    now = datetime.now(UTC) - timedelta(seconds=1)
    events = [contact(f"c{n}", "u1", channel, now) for n, channel in enumerate(CHANNELS)]
    return [*events, contact("c0", "u1", "chat", now)]


async def contact_figures(exposition: str, engine: AsyncEngine, n: int) -> None:
    assert_metrics(
        exposition,
        {
            ("kanava_contacts_total", "unit=u1,channel=chat"): 3 * n,
            ("kanava_contacts_total", "unit=u1,channel=in_person"): 2 * n,
            ("kanava_contacts_total", "unit=u1,channel=video"): n,
            ("kanava_contacts_in_window", "unit=u1,window=30d"): 8 * n,
            # digital here: chat 3 + video 1 of 8 contacts
            ("kanava_digital_contact_share", "unit=u1,window=today"): 4 / 8,
        },
    )


CASES = [
    Case("chat_metrics", CHAT, chat_store.REGISTRY, scenario, 18, chat_figures),
    Case(
        "pathway_metrics",
        PATHWAY,
        pathway_store.REGISTRY,
        pathway_store.events,
        12,
        pathway_figures,
    ),
    Case(
        "feedback_ingest",
        FEEDBACK,
        feedback_store.REGISTRY,
        todays_feedback,
        14,
        feedback_figures,
        {"KANAVA_FEEDBACK_REFRESH_SECONDS": "0.2"},
    ),
    Case(
        "contact_metrics",
        CONTACT,
        contact_store.REGISTRY,
        contacts,
        9,
        contact_figures,
        {"KANAVA_CONTACT_REFRESH_SECONDS": "0.2", "KANAVA_DIGITAL_CHANNELS": "chat,video"},
    ),
]


def outcomes(exposition: str, service: str) -> dict[str, float]:
    return {
        outcome: metric_value(
            exposition, "kanava_consumer_events_total", service=service, outcome=outcome
        )
        for outcome in ("processed", "duplicate", "dead_lettered")
    }


async def wait_outcomes(
    service: ServiceProcess, name: str, expected: Mapping[str, float], within: float = 10
) -> str:
    """The exposition once the consumer counters say `expected` (they follow the commit)."""
    deadline = time.monotonic() + within
    while (found := outcomes(exposition := await service.metrics(), name)) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}: {found} instead of {expected}")
        await asyncio.sleep(0.1)
    return exposition


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.service)
async def test_every_codec_from_librdkafka_is_read_and_counted_exactly(
    case: Case, own_broker: str, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    service = case.start(own_broker, database_url, tmp_path)
    sent: dict[str, int] = {}
    for n, codec in enumerate(CODECS, start=1):
        records = [plain(case.stream, event) for event in case.batch(codec)]
        await asyncio.to_thread(send_with_librdkafka, own_broker, case.stream.topic, records, codec)
        sent[codec] = len(records)
        await wait_consumed(engine, case.service, sum(sent.values()), within=60)
        expected = {
            "processed": case.unique * n,
            "duplicate": (len(records) - case.unique) * n,
            "dead_lettered": 0,
        }
        await wait_outcomes(service, case.service, expected)
    await asyncio.sleep(1)  # a refresh of the gauges read from PostgreSQL
    exposition = await service.metrics()
    assert service.stop() == 0

    await case.check(exposition, engine, len(CODECS))
    stored = await stored_codecs(own_broker, case.stream.topic)
    for codec in CODECS:
        assert sum(stored[codec].values()) == sent[codec], codec
        # librdkafka sends a batch as it is when compressing would not make it smaller (a lone
        # small record in lz4): the records of a codec are in batches of it, or uncompressed.
        assert set(stored[codec]) <= {codec, "none"}, (codec, stored[codec])
        assert stored[codec][codec] > 0, (codec, stored[codec])


async def stored_codecs(bootstrap: str, topic: str) -> dict[str, Counter[str]]:
    """For each codec sent, how many of its records are stored in batches of which codec
    (the codec a record was sent with is the tag its event id starts with)."""
    stored: dict[str, Counter[str]] = defaultdict(Counter)
    for codec, values in await stored_batches(bootstrap, topic):
        for value in values:
            stored[json.loads(value)["id"].split("-", 1)[0]][codec] += 1
    return stored
