"""GET /v1/feedback/nps, /comments and the suppression list over what feedback_ingest stored.
The day of test_feedback_store, worked out by hand; the NPS-drop fields over a unit whose NPS
collapses and one whose does not."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.hashing import hash_recipient
from services.common.months import Month
from services.common.nps_drop import DayCounts, H, evenings
from services.common.registry import load_registry
from services.common.settings import Settings
from services.feedback_ingest.service import FeedbackIngest
from services.gateway.feedback.service import evening_day
from services.gateway.periods import Granularity, Selection
from tests.integration.test_feedback_store import R1, R4, R5, REGISTRY, first_batch
from tests.support.apply import apply_batch
from tests.support.chat_events import at
from tests.support.feedback_events import answered, sent
from tests.support.gateway import gateway, token

DAY = "from=2025-11-03&to=2025-11-03"
HELSINKI = ZoneInfo("Europe/Helsinki")
# 104 days of surveys, 4 answered a day: steady, or in u3 collapsing to detractors for the last
# 14 days. The detector's baseline (182 days ending 28 days before the evening) has 56 days and
# 200 responses from 2025-08-24 on: the CUSUM decides from then on, the 7-against-28-day test
# (z = 0 between alike days) before. Against the baseline (p0 1/2, m0 1/4, d0 1/4; every
# steady day alike, so no spread beyond chance and phi = 1) the alternative "passives to
# detractors" (d1 = d0 + 0.2) has a detractor add ln(0.45 / 0.25) = ln 1.8 = 0.588 nats: a day
# of 4 detractors 2.35, a steady day ln(0.05 / 0.25) + ln 1.8 < 0 (its other CUSUMs grow
# slower: 4 ln 1.4 = 1.35 a day, or not at all). That CUSUM, 0 until the collapse, reaches H on
# the collapse's ALARM_DAYS-th day (the 4th with H = 9: 2025-09-02) and stays there without
# responses.
FIRST_DAY, COLLAPSE, LAST_DAY = date(2025, 6, 1), date(2025, 8, 30), date(2025, 9, 12)
ALARM_DAYS = math.ceil(H / (4 * math.log(1.8)))
SINCE = COLLAPSE + timedelta(days=ALARM_DAYS - 1)
STEADY = (10, 10, 8, 3)  # 2 promoters, a passive, a detractor
COLLAPSED = (2, 2, 2, 2)  # 4 detractors
COUNTS: dict[tuple[int, ...], tuple[int, int, int]] = {STEADY: (2, 1, 1), COLLAPSED: (0, 0, 4)}


@pytest.fixture
async def registry(tmp_path: Path, engine: AsyncEngine) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    domain = FeedbackIngest(load_registry(path), ZoneInfo("Europe/Helsinki"))
    await apply_batch(engine, domain, first_batch())
    await apply_batch(engine, domain, [sent("s5", R5, "u2", at(3, "16:00:00"))])
    return path


async def test_nps_rows_worked_by_hand(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry, settings=Settings(min_responses=1)) as client:
        total = (
            await client.get(f"/v1/feedback/nps?{DAY}&granularity=total", headers=reader)
        ).json()
        units = (await client.get(f"/v1/feedback/nps?{DAY}&by=unit", headers=reader)).json()
    # u1: 3 sent, 1 failed, a promoter and a detractor; u2: 2 sent, a passive
    (row,) = total["rows"]
    assert {k: row[k] for k in ("surveys_sent", "delivery_failed", "responses", "nps")} == {
        "surveys_sent": 5,
        "delivery_failed": 1,
        "responses": 3,
        "nps": 0,
    }
    assert row["response_rate"] == 0.75  # 3 / (5 - 1)
    half = 1.96 * 100 * math.sqrt((2 / 3) / 3)  # p = d = 1/3: p + d - (p - d)^2 = 2/3
    assert row["ci95_lower"] == pytest.approx(-half)
    assert row["ci95_upper"] == pytest.approx(half)
    u1, u2 = units["rows"]
    assert (u1["period"], u1["unit_id"], u1["response_rate"], u1["suppressed"]) == (
        "2025-11-03",
        "u1",
        1.0,  # 2 / (3 - 1)
        False,
    )
    assert u1["ci95_upper"] == pytest.approx(1.96 * 100 * math.sqrt(1 / 2))  # p = d = 1/2
    assert (u2["nps"], u2["ci95_lower"], u2["ci95_upper"], u2["response_rate"]) == (0, 0, 0, 0.5)
    u2_only = await token(engine, units=["u2"])
    async with gateway(engine, registry, settings=Settings(min_responses=1)) as client:
        limited = (await client.get(f"/v1/feedback/nps?{DAY}&by=unit", headers=u2_only)).json()
    assert [(r["unit_id"], r["surveys_sent"]) for r in limited["rows"]] == [("u2", 2)]


async def test_small_groups_are_suppressed(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry) as client:  # min_responses 5
        rows = (await client.get(f"/v1/feedback/nps?{DAY}&by=unit", headers=reader)).json()
        hidden = (await client.get(f"/v1/feedback/comments?{DAY}", headers=reader)).json()
    assert [(r["nps"], r["ci95_lower"], r["suppressed"]) for r in rows["rows"]] == [
        (None, None, True),
        (None, None, True),
    ]
    assert rows["rows"][0]["responses"] == 2
    assert hidden == {"comments": [], "suppressed_units": ["u1", "u2"]}


async def test_comments_newest_first_for_the_units_a_token_sees(
    engine: AsyncEngine, registry: Path
) -> None:
    u1_only = await token(engine, units=["u1"])
    u2_only = await token(engine, units=["u2"])
    async with gateway(engine, registry, settings=Settings(min_responses=1)) as client:
        mine = (await client.get(f"/v1/feedback/comments?{DAY}", headers=u1_only)).json()
        other = (await client.get(f"/v1/feedback/comments?{DAY}", headers=u2_only)).json()
    assert [(c["unit_id"], c["score"], c["text"]) for c in mine["comments"]] == [
        ("u1", 9, "Hoitaja oli ihana, puh [puhelinnumero]"),
        ("u1", 9, "kiitos"),
        ("u1", 6, "Jonotus kesti, hetu [henkilötunnus]"),
    ]
    assert other == {"comments": [], "suppressed_units": []}


async def test_the_suppression_list(engine: AsyncEngine, registry: Path) -> None:
    sender = await token(engine, scopes=["ingest"])
    settings = Settings(phone_hash_key="k")
    async with gateway(engine, registry, settings=settings) as client:
        opted_out = (await client.get(f"/v1/feedback/suppressions/{R4}", headers=sender)).json()
        free = (await client.get(f"/v1/feedback/suppressions/{R1}", headers=sender)).json()
        told = await client.post(
            "/v1/feedback/suppressions",
            json={"phone": "040 123 4567", "reason": "told the nurse"},
            headers=sender,
        )
        hashed = hash_recipient("+358401234567", "k")
        after = (await client.get(f"/v1/feedback/suppressions/{hashed}", headers=sender)).json()
        bad_phone = await client.post(
            "/v1/feedback/suppressions", json={"phone": "abc"}, headers=sender
        )
        both = await client.post(
            "/v1/feedback/suppressions",
            json={"phone": "0401234567", "recipient": R1},
            headers=sender,
        )
        bad_recipient = await client.get("/v1/feedback/suppressions/0401234567", headers=sender)
        reader = await client.get(f"/v1/feedback/suppressions/{R4}", headers=await token(engine))
    assert opted_out["suppressed"] is True
    assert opted_out["reason"] == "sms_opt_out"
    assert opted_out["since"].startswith("2025-11-03T09:00:00")  # 11:00 Helsinki
    assert free == {"recipient": R1, "suppressed": False, "since": None, "reason": None}
    assert told.status_code == 200
    assert told.json()["recipient"] == hashed
    assert after["reason"] == "told the nurse"
    assert (bad_phone.status_code, bad_phone.json()["error"]) == (422, "invalid_phone")
    assert (both.status_code, both.json()["error"]) == (422, "invalid_request")
    assert bad_recipient.status_code == 422
    assert reader.status_code == 403


def plan(collapses: bool) -> list[tuple[date, tuple[int, ...]]]:
    """The scores of each day from FIRST_DAY to LAST_DAY."""
    days = [FIRST_DAY + timedelta(days=n) for n in range((LAST_DAY - FIRST_DAY).days + 1)]
    return [(day, COLLAPSED if collapses and day >= COLLAPSE else STEADY) for day in days]


def survey_events(unit: str, days: list[tuple[date, tuple[int, ...]]]) -> list[Any]:
    """Each score a survey sent at 10:0n and answered at 12:0n that day, Helsinki time."""
    events: list[Any] = []
    for day, scores in days:
        when = datetime.combine(day, time(10), HELSINKI)
        for n, score in enumerate(scores):
            survey = f"{unit}-{day:%m%d}-{n}"
            events.append(sent(survey, None, unit, when.replace(minute=n)))
            events.append(answered(survey, score, when.replace(hour=12, minute=n)))
    return events


def history(days: list[tuple[date, tuple[int, ...]]]) -> list[DayCounts]:
    return [DayCounts(day, *COUNTS[scores]) for day, scores in days]


HISTORIES = {
    "u1": [DayCounts(date(2025, 11, 3), 1, 0, 1)],  # the day of test_feedback_store
    "u2": [DayCounts(date(2025, 11, 3), 0, 1, 0)],
    "u3": history(plan(collapses=True)),
    "u4": history(plan(collapses=False)),
}


def drop(row: dict[str, Any]) -> tuple[bool | None, str | None, str | None]:
    return row["drop_alarm"], row["drop_since"], row["drop_method"]


def detector(unit: str, day: date) -> tuple[bool, str | None, str]:
    """The detector's evening of `day` over the unit's history, as the API shows it."""
    evening = evenings(HISTORIES[unit], until=day)[-1]
    since = evening.since.isoformat() if evening.since else None
    return evening.alarm, since, evening.method


@pytest.fixture
async def collapse(engine: AsyncEngine, registry: Path) -> Path:
    domain = FeedbackIngest(load_registry(registry), HELSINKI)
    events = survey_events("u3", plan(collapses=True)) + survey_events("u4", plan(collapses=False))
    await apply_batch(engine, domain, events)
    return registry


async def test_a_units_row_has_the_drop_detectors_evening(
    engine: AsyncEngine, collapse: Path
) -> None:
    reader = await token(engine)
    months = "from=2025-07-01&to=2025-09-30&granularity=month"
    async with gateway(engine, collapse) as client:
        by_month = (await client.get(f"/v1/feedback/nps?{months}&by=unit", headers=reader)).json()
        days = f"from={SINCE - timedelta(days=2)}&to={SINCE + timedelta(days=1)}"
        by_day = (await client.get(f"/v1/feedback/nps?{days}&unit_id=u3", headers=reader)).json()
        whole = "from=2025-07-01&to=2025-11-30&granularity=total&by=unit"
        total = (await client.get(f"/v1/feedback/nps?{whole}", headers=reader)).json()
        county = (await client.get(f"/v1/feedback/nps?{months}", headers=reader)).json()
        area = (await client.get(f"/v1/feedback/nps?{DAY}&service_area=sa1", headers=reader)).json()
    since = SINCE.isoformat()
    assert ALARM_DAYS > 2  # 2 days of collapse in August: 4.70 nats
    # the evening of a month row: its last day; of a total row: the range's `to`
    assert {(r["unit_id"], r["period"]): drop(r) for r in by_month["rows"]} == {
        ("u3", "2025-07"): (False, None, "fallback"),
        ("u3", "2025-08"): (False, None, "cusum"),
        ("u3", "2025-09"): (True, since, "cusum"),
        ("u4", "2025-07"): (False, None, "fallback"),
        ("u4", "2025-08"): (False, None, "cusum"),
        ("u4", "2025-09"): (False, None, "cusum"),
    }
    assert [drop(r) for r in by_day["rows"]] == [
        (False, None, "cusum"),
        (False, None, "cusum"),
        (True, since, "cusum"),
        (True, since, "cusum"),
    ]
    # u1 and u2: a day of 2 and of 1 response, none in the 7 days before 30 November
    assert {r["unit_id"]: drop(r) for r in total["rows"]} == {
        "u1": (False, None, "none"),
        "u2": (False, None, "none"),
        "u3": (True, since, "cusum"),
        "u4": (False, None, "cusum"),
    }
    for row in by_month["rows"]:
        assert drop(row) == detector(row["unit_id"], Month.parse(row["period"]).last)
    for row in by_day["rows"]:
        assert drop(row) == detector("u3", date.fromisoformat(row["period"]))
    for row in total["rows"]:
        assert drop(row) == detector(row["unit_id"], date(2025, 11, 30))
    # rows of no one unit: the county's months, a service area's day
    for row in county["rows"] + area["rows"]:
        assert drop(row) == (None, None, None)
    assert (len(county["rows"]), len(area["rows"])) == (3, 1)


@pytest.mark.parametrize(
    ("granularity", "period", "today", "evening"),
    [
        ("day", "2025-11-03", date(2026, 1, 1), date(2025, 11, 3)),
        ("month", "2025-10", date(2026, 1, 1), date(2025, 10, 31)),
        ("month", "2025-11", date(2026, 1, 1), date(2025, 11, 20)),  # the range's `to`
        ("month", "2025-11", date(2025, 11, 10), date(2025, 11, 10)),  # today
        ("total", "total", date(2026, 1, 1), date(2025, 11, 20)),
        ("total", "total", date(2025, 11, 10), date(2025, 11, 10)),
    ],
)
def test_the_evening_a_row_shows(
    granularity: Granularity, period: str, today: date, evening: date
) -> None:
    sel = Selection(date(2025, 10, 5), date(2025, 11, 20), granularity, None, None, None, None)
    assert evening_day(period, sel, today) == evening
