"""feedback_ingest against a real PostgreSQL: figures, comments, suppressions, late events,
concurrent instances, retention. Expected values are worked out by hand in each test."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.registry import load_registry
from services.feedback_ingest.figures import UNIT_MEASURES
from services.feedback_ingest.service import FeedbackIngest, Retention, apply_retention
from tests.support.apply import apply_batch
from tests.support.chat_events import at
from tests.support.feedback_events import answered, failed, recipient, sent, sms

DAY = date(2025, 11, 3)
REGISTRY = """
service_areas: [{id: sa1, name: Area 1}, {id: sa2, name: Area 2}]
units:
  - {id: u1, name: Unit 1, service_area: sa1, nps_target: 70}
  - {id: u2, name: Unit 2, service_area: sa2}
queues: []
"""
R1, R2, R3, R4, R5, R6 = (recipient(f"r{n}") for n in range(1, 7))


@pytest.fixture
def domain(tmp_path: Path) -> FeedbackIngest:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    return FeedbackIngest(load_registry(path), ZoneInfo("Europe/Helsinki"))


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(sql), params)]


async def unit_day(engine: AsyncEngine, unit: str, day: date = DAY) -> tuple[Any, ...]:
    found = await rows(
        engine,
        f"SELECT service_area, {', '.join(UNIT_MEASURES)} FROM feedback_unit_daily "
        "WHERE unit_id = :u AND day = :d",
        u=unit,
        d=day,
    )
    return found[0] if found else ()


async def replies(engine: AsyncEngine, day: date = DAY) -> dict[str, int]:
    found = await rows(
        engine, "SELECT outcome, replies FROM feedback_reply_daily WHERE day = :d", d=day
    )
    return {outcome: n for outcome, n in found if n}


def first_batch() -> list[Any]:
    return [
        sent("s1", R1, "u1", at(3, "10:00:00")),
        sms(R1, "9 kiitos", at(3, "12:00:00"), "e-9"),
        sms(R1, "Hoitaja oli ihana, puh 040 123 4567", at(3, "13:00:00")),
        sent("s2", R2, "u1", at(3, "10:05:00"), service_area="sa1"),
        answered("s2", 6, at(3, "11:00:00"), comment="Jonotus kesti, hetu 131052-308T"),
        sent("s3", R3, "u1", at(3, "10:10:00")),
        failed("s3", at(3, "10:11:00")),
        sms(R3, "10", at(3, "12:00:00")),  # its only survey never arrived: unmatched
        sent("s4", R4, "u2", at(3, "10:15:00")),
        sms(R4, "STOP", at(3, "11:00:00")),
        answered("s5", 8, at(4, "09:00:00")),  # before its survey.sent: waits
        sms(R6, "8", at(3, "14:00:00")),  # no survey at all
    ]


async def test_a_day_of_feedback_gives_the_figures_worked_by_hand(
    engine: AsyncEngine, domain: FeedbackIngest
) -> None:
    first = first_batch()
    await apply_batch(engine, domain, first)
    # u1: s1 (promoter by SMS), s2 (detractor by form), s3 (failed); u2: s4 (opted out)
    assert await unit_day(engine, "u1") == ("sa1", 3, 1, 1, 0, 1)
    assert await unit_day(engine, "u2") == ("sa2", 1, 0, 0, 0, 0)
    assert await replies(engine) == {"scored": 1, "comment": 1, "unmatched": 2, "opt_out": 1}
    pending = await rows(engine, "SELECT survey_id FROM feedback_facts WHERE subject IS NULL")
    assert pending == [("s5",)]

    # s5's survey.sent arrives late, with a duplicate of an applied event
    again = sms(R1, "9 kiitos", at(3, "12:00:00"), "e-9")
    fresh = await apply_batch(engine, domain, [sent("s5", R5, "u2", at(3, "16:00:00")), again])
    assert len(fresh) == 1
    assert await unit_day(engine, "u2") == ("sa2", 2, 0, 0, 1, 0)
    assert await unit_day(engine, "u1") == ("sa1", 3, 1, 1, 0, 1)

    results = await rows(
        engine,
        "SELECT survey_id, delivered, score, category, source FROM feedback_survey_results "
        "ORDER BY survey_id",
    )
    assert results == [
        ("s1", True, 9, "promoter", "sms"),
        ("s2", True, 6, "detractor", "form"),
        ("s3", False, None, None, None),
        ("s4", True, None, None, None),
        ("s5", True, 8, "passive", "form"),
    ]
    comments = await rows(
        engine, "SELECT survey_id, unit_id, day, score, text FROM feedback_comments ORDER BY time"
    )
    assert comments == [
        ("s2", "u1", DAY, 6, "Jonotus kesti, hetu [henkilötunnus]"),
        ("s1", "u1", DAY, 9, "kiitos"),
        ("s1", "u1", DAY, 9, "Hoitaja oli ihana, puh [puhelinnumero]"),
    ]
    suppressions = await rows(engine, "SELECT recipient, since, reason FROM feedback_suppressions")
    assert suppressions == [(R4, at(3, "11:00:00"), "sms_opt_out")]


async def test_a_late_survey_turns_an_unmatched_reply_into_a_score(
    engine: AsyncEngine, domain: FeedbackIngest
) -> None:
    await apply_batch(engine, domain, [sms(R1, "Kymppi!", at(3, "12:00:00"))])
    assert await replies(engine) == {"unmatched": 1}
    assert await unit_day(engine, "u1") == ()

    await apply_batch(engine, domain, [sent("s1", R1, "u1", at(3, "09:00:00"))])
    assert await replies(engine) == {"scored": 1}
    assert await unit_day(engine, "u1") == ("sa1", 1, 0, 1, 0, 0)


async def test_a_survey_without_recipient_is_scored_by_its_form(
    engine: AsyncEngine, domain: FeedbackIngest
) -> None:
    await apply_batch(engine, domain, [answered("s9", 10, at(3, "12:00:00"))])
    await apply_batch(engine, domain, [sent("s9", None, "u2", at(3, "10:00:00"))])
    assert await unit_day(engine, "u2") == ("sa2", 1, 0, 1, 0, 0)
    subjects = await rows(engine, "SELECT subject FROM feedback_survey_results")
    assert subjects == [("survey:s9",)]


async def test_instances_racing_on_one_survey_lose_nothing(
    engine: AsyncEngine, domain: FeedbackIngest
) -> None:
    """survey.sent (keyed by recipient) and survey.answered (keyed by survey id) of the same
    surveys committed concurrently by two 'instances': every answer must find its survey."""
    n = 300
    surveys = [sent(f"s{i}", recipient(f"x{i}"), "u1", at(3, "10:00:00")) for i in range(n)]
    answers = [answered(f"s{i}", i % 11, at(3, "11:00:00")) for i in range(n)]
    for part in range(3):
        chunk = slice(part * 100, (part + 1) * 100)
        await asyncio.gather(
            apply_batch(engine, domain, surveys[chunk], partition=0),
            apply_batch(engine, domain, answers[chunk], partition=1),
        )
    # scores 0..10 cycle: of 300, 0-6 -> detractors, 7-8 passives, 9-10 promoters
    detractors = sum(1 for i in range(n) if i % 11 <= 6)
    passives = sum(1 for i in range(n) if 7 <= i % 11 <= 8)
    assert (detractors, passives) == (192, 54)
    assert await unit_day(engine, "u1") == ("sa1", 300, 0, 54, 54, 192)
    pending = await rows(engine, "SELECT count(*) FROM feedback_facts WHERE subject IS NULL")
    assert pending == [(0,)]


async def test_retention_purges_old_unmatched_replies_and_texts_but_keeps_counts(
    engine: AsyncEngine, domain: FeedbackIngest
) -> None:
    await apply_batch(
        engine,
        domain,
        [
            sms(R6, "8", at(3, "14:00:00")),  # unmatched
            sent("s1", R1, "u1", at(3, "10:00:00")),
            sms(R1, "9 kiitos", at(3, "12:00:00")),
            sent("s2", R2, "u1", at(5, "10:00:00")),
            sms(R2, "8 ok", at(5, "12:00:00")),
        ],
    )
    now = at(3, "14:30:00") + timedelta(days=30)  # R6's reply is 30 days and 30 minutes old
    assert await apply_retention(engine, Retention(30, 24), now) == (1, 0)
    assert await rows(engine, "SELECT count(*) FROM feedback_facts WHERE subject = :r", r=R6) == [
        (0,)
    ]
    assert await replies(engine) == {"scored": 1, "unmatched": 1}  # counts stay

    later = at(4, "00:00:00").replace(year=2027)  # 24 months back: 4 Nov 2025 00:00
    assert await apply_retention(engine, Retention(30, 24), later) == (0, 1)  # R1's SMS
    texts = await rows(engine, "SELECT text FROM feedback_comments ORDER BY time")
    assert texts == [("ok",)]
    kept = await rows(
        engine, "SELECT count(*) FROM feedback_facts WHERE text IS NOT NULL OR comment IS NOT NULL"
    )
    assert kept == [(1,)]
    assert await unit_day(engine, "u1") == ("sa1", 1, 0, 1, 0, 0)

    # a later derivation of the purged subject changes no figure
    await apply_batch(engine, domain, [sms(R1, "kiitos vielä", at(4, "09:00:00"))])
    assert await unit_day(engine, "u1") == ("sa1", 1, 0, 1, 0, 0)
    assert await replies(engine) == {"scored": 1, "unmatched": 1}
