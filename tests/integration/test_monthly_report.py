"""GET /v1/reports/monthly/{YYYY-MM} and `kanava report` over a small data set stored through
the four service domains: October 2025 against September 2025 and October 2024, every
expected figure worked out by hand below."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncEngine

from services.chat_metrics.exports import ChatExports
from services.chat_metrics.queues import QueueRules
from services.chat_metrics.service import ChatMetrics
from services.common.nps_drop import evenings
from services.common.registry import load_registry
from services.common.settings import DEFAULT_DIGITAL_CHANNELS
from services.contact_metrics.service import ContactMetrics
from services.feedback_ingest.service import FeedbackIngest
from services.pathway_metrics.service import PathwayMetrics
from tests.integration.test_chat_metrics_store import WAIT
from tests.integration.test_gateway_feedback import HISTORIES, SINCE, plan, survey_events
from tests.support.apply import apply_batch
from tests.support.chat_events import chat
from tests.support.contact_events import contact, month_count
from tests.support.feedback_events import answered, failed, sent
from tests.support.gateway import gateway, token
from tests.support.infra import project_root
from tests.support.pathway_events import pathway

HELSINKI = ZoneInfo("Europe/Helsinki")
REGISTRY = """
service_areas: [{id: sa1, name: Vastaanotto}, {id: sa2, name: Kuntoutus}]
units:
  - {id: u1, name: Terveysasema, service_area: sa1, nps_target: 70}
  - {id: u2, name: Avokuntoutus, service_area: sa2}
queues:
  - {id: q1, name: Terveysasemachat, unit: u1}
  - {id: q2, name: Kuntoutuschat, unit: u2, service_level_seconds: 120}
pathways:
  - {id: astma, name: Astma, kind: professional, platform: oma, service_area: sa1}
  - {id: nikotiini, name: Nikotiini, kind: self_care, platform: hva, service_area: sa2}
"""
URL = "/v1/reports/monthly/2025-10"


def t(year: int, month: int, day: int, clock: str = "10:00:00") -> datetime:
    hour, minute, second = (int(part) for part in clock.split(":"))
    return datetime(year, month, day, hour, minute, second, tzinfo=HELSINKI)


def visit(
    contact_id: str, queue: str, when: datetime, wait: int, outcome: str, resolved: bool | None
) -> list[Any]:
    """A client queued at `when` who was answered (and closed 5 min later) or abandoned after
    `wait` seconds."""
    left = when.timestamp() + wait
    left_at = datetime.fromtimestamp(left, HELSINKI)
    events = [chat("chat.queued", when, contact_id=contact_id, queue_id=queue)]
    if outcome == "answered":
        closed_at = datetime.fromtimestamp(left + 300, HELSINKI)
        events += [
            chat("chat.answered", left_at, contact_id=contact_id, queue_id=queue),
            chat("chat.closed", closed_at, contact_id=contact_id, resolved=resolved),
        ]
    else:
        events.append(chat("chat.abandoned", left_at, contact_id=contact_id, queue_id=queue))
    return events


def chat_events() -> list[Any]:
    """October 2025, q1 (60 s): waits 20, 90, 40 answered (resolved yes, no, yes), abandoned
    after 5 s (short) and 120 s: offered 5, service level 2 / (3 + 2 - 1) = 0.5, abandon rate
    1/4, ASA 50 s, resolved 2/3. q2 (120 s): waits 100 and 110 answered (resolved yes,
    unknown): service level 1.0, ASA 105 s, resolved 1/1. Bot: 2 sessions, 1 resolved.
    September 2025, q1: waits 10 and 50, both resolved. October 2024, q1: a wait of 70 s."""
    events: list[Any] = []
    october = t(2025, 10, 7)
    for n, (wait, outcome, resolved) in enumerate(
        [
            (20, "answered", True),
            (90, "answered", False),
            (40, "answered", True),
            (5, "abandoned", None),
            (120, "abandoned", None),
        ]
    ):
        events += visit(f"o{n}", "q1", october.replace(minute=5 * n), wait, outcome, resolved)
    events += visit("o5", "q2", october.replace(hour=11), 100, "answered", True)
    events += visit("o6", "q2", october.replace(hour=11, minute=10), 110, "answered", None)
    events += [
        chat("chat.started", october.replace(hour=12), contact_id="b1", entry="bot"),
        chat("chat.bot_resolved", october.replace(hour=12, minute=3), contact_id="b1"),
        chat("chat.started", october.replace(hour=12, minute=5), contact_id="b2", entry="bot"),
    ]
    september = t(2025, 9, 9)
    events += visit("s1", "q1", september, 10, "answered", True)
    events += visit("s2", "q1", september.replace(minute=30), 50, "answered", True)
    events += visit("y1", "q1", t(2024, 10, 8), 70, "answered", True)
    return events


def feedback_events() -> list[Any]:
    """October 2025, u1: 8 sent, 1 failed, 6 scored 10 10 9 9 7 5 → NPS 100 (4 - 1) / 6 =
    50, response rate 6/7; u2: 3 sent, scored 10 9 9 → suppressed (3 < 5). September 2025, u1:
    5 sent, scored 10 10 10 9 8 → NPS 80. October 2024: no surveys."""
    events: list[Any] = []
    october = t(2025, 10, 14)
    scores = [10, 10, 9, 9, 7, 5]
    for n in range(8):
        when = october.replace(minute=n)
        events.append(sent(f"o{n}", None, "u1", when))
        if n < len(scores):
            events.append(answered(f"o{n}", scores[n], when.replace(hour=12)))
    events.append(failed("o7", october.replace(hour=11)))
    for n, score in enumerate([10, 9, 9]):
        events.append(sent(f"k{n}", None, "u2", october.replace(minute=30 + n)))
        events.append(answered(f"k{n}", score, october.replace(hour=13, minute=n)))
    september = t(2025, 9, 16)
    for n, score in enumerate([10, 10, 10, 9, 8]):
        events.append(sent(f"s{n}", None, "u1", september.replace(minute=n)))
        events.append(answered(f"s{n}", score, september.replace(hour=12, minute=n)))
    return events


def contact_events() -> list[Any]:
    """October 2025: u1 in_person 3, phone 2, chat 2, message 1 → 3/8 digital; u2 in_person
    3, video 1 → 1/4; together 4/12. September 2025: u1 in_person 2, chat 2 → 1/2. October
    2024: u1 in_person 3, message 1 → 1/4."""
    plan = [
        (t(2025, 10, 21), "u1", ["in_person"] * 3 + ["phone"] * 2 + ["chat"] * 2 + ["message"]),
        (t(2025, 10, 22), "u2", ["in_person"] * 3 + ["video"]),
        (t(2025, 9, 23), "u1", ["in_person"] * 2 + ["chat"] * 2),
        (t(2024, 10, 24), "u1", ["in_person"] * 3 + ["message"]),
    ]
    return [
        contact(f"{unit}-{when:%Y%m}-{n}", unit, channel, when.replace(minute=n))
        for when, unit, channels in plan
        for n, channel in enumerate(channels)
    ]


def pathway_events() -> list[Any]:
    """astma (sa1, u1): e0 started 5 Oct 2024 and completed on the 20th; e1 and e2 started in
    September 2025, in October 2025 e1 completed and e2 discontinued; e3 started in October
    2025 (a thumb up). nikotiini (sa2, u2): e4 started in October 2025."""

    def started(enrolment: str, pathway_id: str, when: datetime, unit: str) -> Any:
        return pathway(
            "started", enrolment, when, pathway_id=pathway_id, start_mode="self", unit_id=unit
        )

    return [
        started("e0", "astma", t(2024, 10, 5), "u1"),
        pathway("completed", "e0", t(2024, 10, 20)),
        started("e1", "astma", t(2025, 9, 10), "u1"),
        started("e2", "astma", t(2025, 9, 12), "u1"),
        started("e3", "astma", t(2025, 10, 2), "u1"),
        pathway("feedback", "e3", t(2025, 10, 3), thumb="up"),
        pathway("completed", "e1", t(2025, 10, 15)),
        pathway("discontinued", "e2", t(2025, 10, 20)),
        started("e4", "nikotiini", t(2025, 10, 10), "u2"),
    ]


@pytest.fixture
async def registry(tmp_path: Path, engine: AsyncEngine) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    loaded = load_registry(path)
    chat_domain = ChatMetrics(QueueRules(loaded, HELSINKI), ChatExports(WAIT))
    await apply_batch(engine, chat_domain, chat_events())
    await apply_batch(engine, FeedbackIngest(loaded, HELSINKI), feedback_events())
    contacts = ContactMetrics(loaded, HELSINKI, DEFAULT_DIGITAL_CHANNELS)
    await apply_batch(engine, contacts, contact_events())
    await apply_batch(engine, PathwayMetrics(loaded, HELSINKI), pathway_events())
    return path


def chat_figures(
    offered: int,
    answered: int,
    abandoned: int,
    short: int,
    level: float,
    asa: float,
    abandon_rate: float,
    resolved: float,
) -> dict[str, Any]:
    return {
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": short,
        "transferred_out": 0,
        "service_level": level,
        "asa_seconds": asa,
        "abandon_rate": abandon_rate,
        "resolved_rate": resolved,
    }


Q1_OCTOBER = chat_figures(5, 3, 2, 1, 0.5, 50.0, 0.25, 2 / 3)
Q1_SEPTEMBER = chat_figures(2, 2, 0, 0, 1.0, 30.0, 0.0, 1.0)
Q1_YEAR_BEFORE = chat_figures(1, 1, 0, 0, 0.0, 70.0, 0.0, 1.0)
Q2_OCTOBER = chat_figures(2, 2, 0, 0, 1.0, 105.0, 0.0, 1.0)
# all queues: 4 within / (5 + 2 - 1); ASA (20 + 90 + 40 + 100 + 110) / 5; resolved 3/4
TOTAL_OCTOBER = chat_figures(7, 5, 2, 1, 4 / 6, 72.0, 1 / 6, 0.75)


def half_width(p: int, d: int, n: int) -> float:
    """1.96 x 100 x sqrt((p + d - (p - d)^2) / n), p and d as shares (docs/metrics.md)."""
    share_p, share_d = p / n, d / n
    return 1.96 * math.sqrt(100**2 * (share_p + share_d - (share_p - share_d) ** 2) / n)


def nps(
    sent_: int, failed_: int, p: int, passive: int, d: int, shown: bool = True
) -> dict[str, Any]:
    n = p + passive + d
    value = 100 * (p - d) / n
    return {
        "surveys_sent": sent_,
        "delivery_failed": failed_,
        "responses": n,
        "promoters": p,
        "passives": passive,
        "detractors": d,
        "nps": value if shown else None,
        "ci95_lower": value - half_width(p, d, n) if shown else None,
        "ci95_upper": value + half_width(p, d, n) if shown else None,
        "response_rate": n / (sent_ - failed_),
        "suppressed": not shown,
    }


def share(channels: dict[str, int]) -> dict[str, Any]:
    total = sum(channels.values())
    digital = sum(n for c, n in channels.items() if c in DEFAULT_DIGITAL_CHANNELS)
    return {
        "contacts": total,
        "digital_contacts": digital,
        "digital_share": digital / total,
        "by_channel": channels,
    }


def pathways(
    starts: int, completions: int, discontinued: int, active: int, thumbs_up: int = 0
) -> dict[str, Any]:
    ended = completions + discontinued
    return {
        "starts": starts,
        "completions": completions,
        "discontinued": discontinued,
        "active": active,
        "completion_rate": completions / ended if ended else None,
        "thumbs_up": thumbs_up,
        "thumbs_down": 0,
    }


U1_NPS = nps(8, 1, 4, 1, 1)  # NPS 50 < target 70
U1_NPS_SEPTEMBER = nps(5, 0, 4, 1, 0)  # NPS 80
U2_NPS = nps(3, 0, 3, 0, 0, shown=False)
U1_SHARE = share({"chat": 2, "in_person": 3, "message": 1, "phone": 2})
U2_SHARE = share({"in_person": 3, "video": 1})
ASTMA = pathways(1, 1, 1, 1, thumbs_up=1)
ASTMA_SEPTEMBER = pathways(2, 0, 0, 2)
ASTMA_YEAR_BEFORE = pathways(1, 1, 0, 0)
# u1 and u2: no response in the 7 days to 31 October, so no test at month end (method none)
# and, with too few responses before, no alarm on any evening of the month
QUIET = {"alarm_at_month_end": False, "since": None, "days_on": 0, "method": "none"}


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """The report without the metadata (generated_at): what must not change between runs."""
    return {k: v for k, v in report.items() if k != "metadata"}


async def worked_by_hand(engine: AsyncEngine, registry: Path) -> dict[str, Any]:
    """The JSON report of the month worked by hand."""
    reader = await token(engine)
    async with gateway(engine, registry) as client:
        response = await client.get(URL, headers=reader)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    report: dict[str, Any] = response.json()
    return report


async def test_the_county_figures_worked_by_hand(engine: AsyncEngine, registry: Path) -> None:
    report = await worked_by_hand(engine, registry)
    assert (report["month"], report["previous_month"], report["year_before"]) == (
        "2025-10",
        "2025-09",
        "2024-10",
    )
    assert report["title"] == "Monthly report October 2025"
    assert report["scope"] == {
        "limited": False,
        "units": None,
        "description": "All units of the county",
    }

    total = report["total"]
    assert total["chat"] == {
        "month": TOTAL_OCTOBER,
        "previous_month": Q1_SEPTEMBER,
        "year_before": Q1_YEAR_BEFORE,
        "service_level_target": 0.8,
        "service_level_target_met": False,
    }
    assert total["chatbot"] == {
        "month": {"sessions": 2, "resolved": 1, "containment": 0.5},
        "previous_month": None,
        "year_before": None,
    }
    # both units: 7 promoters, a passive, a detractor of 9; response rate 9 / (11 - 1)
    assert total["nps"]["month"] == nps(11, 1, 7, 1, 1)
    assert total["nps"]["month"]["nps"] == pytest.approx(66.667, abs=1e-3)
    assert total["nps"]["month"]["response_rate"] == 0.9
    assert (total["nps"]["previous_month"], total["nps"]["year_before"]) == (U1_NPS_SEPTEMBER, None)
    assert (total["nps"]["target"], total["nps"]["target_met"], total["nps"]["drop"]) == (
        None,
        None,
        None,
    )
    assert total["digital_share"] == {
        "month": share({"chat": 2, "in_person": 6, "message": 1, "phone": 2, "video": 1}),
        "previous_month": share({"chat": 2, "in_person": 2}),
        "year_before": share({"in_person": 3, "message": 1}),
        "target": 0.35,
        "target_met": False,  # 4 / 12
    }
    assert total["pathways"]["month"] == pathways(2, 1, 1, 2, thumbs_up=1)  # e3 and e4 active


async def test_the_service_areas_worked_by_hand(engine: AsyncEngine, registry: Path) -> None:
    report = await worked_by_hand(engine, registry)
    sa1, sa2 = report["service_areas"]
    assert (sa1["service_area_id"], sa1["name"], sa2["service_area_id"]) == (
        "sa1",
        "Vastaanotto",
        "sa2",
    )
    (u1,) = sa1["units"]
    assert (u1["unit_id"], u1["name"]) == ("u1", "Terveysasema")
    assert (
        u1["chat"]
        == sa1["chat"]
        == {
            "month": Q1_OCTOBER,
            "previous_month": Q1_SEPTEMBER,
            "year_before": Q1_YEAR_BEFORE,
            "service_level_target": 0.8,
            "service_level_target_met": False,
        }
    )
    (q1,) = u1["queues"]
    assert (q1["queue_id"], q1["name"], q1["service_level_seconds"]) == (
        "q1",
        "Terveysasemachat",
        60,
    )
    assert q1["chat"] == u1["chat"]
    assert u1["nps"] == {
        "month": U1_NPS,
        "previous_month": U1_NPS_SEPTEMBER,
        "year_before": None,
        "target": 70.0,
        "target_met": False,
        "drop": QUIET,
    }
    assert sa1["nps"]["drop"] is None  # units only
    assert u1["digital_share"] == {
        "month": U1_SHARE,
        "previous_month": share({"chat": 2, "in_person": 2}),
        "year_before": share({"in_person": 3, "message": 1}),
        "target": 0.35,
        "target_met": True,  # 3 / 8
    }
    assert sa1["pathways"] == [
        {
            "pathway_id": "astma",
            "name": "Astma",
            "kind": "professional",
            "month": ASTMA,
            "previous_month": ASTMA_SEPTEMBER,
            "year_before": ASTMA_YEAR_BEFORE,
        }
    ]

    (u2,) = sa2["units"]
    assert u2["chat"]["month"] == Q2_OCTOBER
    assert (u2["chat"]["previous_month"], u2["chat"]["year_before"]) == (None, None)
    assert u2["chat"]["service_level_target_met"] is True
    assert u2["queues"][0]["service_level_seconds"] == 120
    assert u2["nps"] == {
        "month": U2_NPS,
        "previous_month": None,
        "year_before": None,
        "target": 75.0,
        "target_met": None,  # suppressed: 3 responses < 5
        "drop": QUIET,
    }
    assert u2["digital_share"]["month"] == U2_SHARE
    assert u2["digital_share"]["target_met"] is False
    assert [(p["pathway_id"], p["month"]) for p in sa2["pathways"]] == [
        ("nikotiini", pathways(1, 0, 0, 1))
    ]


async def test_the_trend_worked_by_hand(engine: AsyncEngine, registry: Path) -> None:
    report = await worked_by_hand(engine, registry)
    total = report["total"]
    trend = {p["month"]: p for p in report["trend"]}
    assert list(trend) == [f"2024-{m}" for m in ("10", "11", "12")] + [
        f"2025-{m:02d}" for m in range(1, 11)
    ]
    assert trend["2025-10"] == {
        "month": "2025-10",
        "chat_offered": 7,
        "chat_service_level": 4 / 6,
        "nps": total["nps"]["month"]["nps"],
        "nps_ci95_lower": total["nps"]["month"]["ci95_lower"],
        "nps_ci95_upper": total["nps"]["month"]["ci95_upper"],
        "nps_responses": 9,
        "digital_share": 4 / 12,
    }
    assert (trend["2025-09"]["chat_service_level"], trend["2025-09"]["nps"]) == (1.0, 80.0)
    assert (trend["2024-10"]["chat_service_level"], trend["2024-10"]["nps"]) == (0.0, None)
    assert trend["2025-03"] == {"month": "2025-03"} | dict.fromkeys(
        [
            "chat_offered",
            "chat_service_level",
            "nps",
            "nps_ci95_lower",
            "nps_ci95_upper",
            "nps_responses",
            "digital_share",
        ]
    )

    assert report["targets"] == {
        "chat_service_level": 0.8,
        "digital_share": 0.35,
        "nps_by_unit": {"u1": 70.0, "u2": 75.0},
        "nps_default": 75.0,
    }
    definitions = report["definitions"]
    assert definitions["service_level_seconds"] == {"q1": 60, "q2": 120}
    assert definitions["digital_channels"] == sorted(DEFAULT_DIGITAL_CHANNELS)
    assert definitions["min_responses"] == 5
    assert definitions["formula_version"].startswith("kanava-report-1")
    assert {d["term"] for d in definitions["terms"]} >= {"Service level", "NPS", "Digital share"}


async def test_the_figures_equal_the_query_endpoints(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    month = "from=2025-10-01&to=2025-10-31&granularity=month"
    async with gateway(engine, registry) as client:
        report = (await client.get(URL, headers=reader)).json()
        chat_total = (await client.get(f"/v1/chat/stats?{month}", headers=reader)).json()
        chat_u2 = (await client.get(f"/v1/chat/stats?{month}&unit_id=u2", headers=reader)).json()
        nps_units = (await client.get(f"/v1/feedback/nps?{month}&by=unit", headers=reader)).json()
        nps_sa1 = (
            await client.get(f"/v1/feedback/nps?{month}&service_area=sa1", headers=reader)
        ).json()
        paths = (await client.get(f"/v1/pathways/stats?{month}&by=pathway", headers=reader)).json()
        shares = (
            await client.get(f"/v1/contacts/digital-share?{month}&by=unit", headers=reader)
        ).json()
        share_all = (await client.get(f"/v1/contacts/digital-share?{month}", headers=reader)).json()

    def same(endpoint_row: dict[str, Any], report_figures: dict[str, Any]) -> None:
        assert {k: endpoint_row[k] for k in report_figures} == report_figures

    (total,) = chat_total["rows"]
    same(total, report["total"]["chat"]["month"])
    assert (total["bot_sessions"], total["bot_resolved"]) == (2, 1)
    sa1, sa2 = report["service_areas"]
    same(chat_u2["rows"][0], sa2["units"][0]["chat"]["month"])
    u1_nps, u2_nps = nps_units["rows"]
    same(u1_nps, sa1["units"][0]["nps"]["month"])
    same(u2_nps, sa2["units"][0]["nps"]["month"])
    same(nps_sa1["rows"][0], sa1["nps"]["month"])
    astma, nikotiini = paths["rows"]
    same(astma, sa1["pathways"][0]["month"])
    same(nikotiini, sa2["pathways"][0]["month"])
    u1_share, u2_share = shares["rows"]
    same(u1_share, sa1["units"][0]["digital_share"]["month"])
    same(u2_share, sa2["units"][0]["digital_share"]["month"])
    same(share_all["rows"][0], report["total"]["digital_share"]["month"])


def imported_counts() -> list[Any]:
    """Monthly counts imported beside the recorded contacts of contact_events(): October 2024
    u1 in_person 500 (ignored: u1 has recorded contacts that month), u2 in_person 30 and video
    10 (u2 has none: 10/40); March 2025 u1 in_person 14, chat 6 (6/20); October 2025 u2 phone
    99 (ignored: u2 has recorded contacts)."""
    when = t(2025, 11, 2)
    return [
        month_count("u1", "in_person", "2024-10", 500, when),
        month_count("u2", "in_person", "2024-10", 30, when),
        month_count("u2", "video", "2024-10", 10, when),
        month_count("u1", "in_person", "2025-03", 14, when),
        month_count("u1", "chat", "2025-03", 6, when),
        month_count("u2", "phone", "2025-10", 99, when),
    ]


async def test_imported_monthly_counts_fill_the_months_without_recorded_contacts(
    engine: AsyncEngine, registry: Path
) -> None:
    contacts = ContactMetrics(load_registry(registry), HELSINKI, DEFAULT_DIGITAL_CHANNELS)
    await apply_batch(engine, contacts, imported_counts())
    reader = await token(engine)
    year_before = "from=2024-10-01&to=2024-10-31&granularity=month"
    async with gateway(engine, registry) as client:
        report = (await client.get(URL, headers=reader)).json()
        api_units = (
            await client.get(f"/v1/contacts/digital-share?{year_before}&by=unit", headers=reader)
        ).json()
    total = report["total"]["digital_share"]
    assert total["month"] == share(
        {"chat": 2, "in_person": 6, "message": 1, "phone": 2, "video": 1}
    )
    # u1's recorded in_person 3, message 1 and u2's imported in_person 30, video 10: 11/44
    assert total["year_before"] == share({"in_person": 33, "message": 1, "video": 10})
    sa1, sa2 = report["service_areas"]
    u1_share, u2_share = sa1["units"][0]["digital_share"], sa2["units"][0]["digital_share"]
    assert (u1_share["month"], u1_share["year_before"]) == (
        U1_SHARE,
        share({"in_person": 3, "message": 1}),
    )
    assert (u2_share["month"], u2_share["year_before"]) == (
        U2_SHARE,
        share({"in_person": 30, "video": 10}),
    )
    trend = {p["month"]: p["digital_share"] for p in report["trend"]}
    assert {month: value for month, value in trend.items() if value is not None} == {
        "2024-10": 0.25,
        "2025-03": 0.3,
        "2025-09": 0.5,
        "2025-10": 4 / 12,
    }
    u1_api, u2_api = api_units["rows"]
    assert {k: u1_api[k] for k in u1_share["year_before"]} == u1_share["year_before"]
    assert {k: u2_api[k] for k in u2_share["year_before"]} == u2_share["year_before"]


async def test_the_same_month_twice_gives_the_same_figures(
    engine: AsyncEngine, registry: Path
) -> None:
    reader = await token(engine)
    async with gateway(engine, registry) as client:
        first = (await client.get(URL, headers=reader)).json()
        second = (await client.get(f"{URL}?format=json", headers=reader)).json()
        first_csv = (await client.get(f"{URL}?format=csv", headers=reader)).text
        second_csv = (await client.get(f"{URL}?format=csv", headers=reader)).text
    assert figures(first) == figures(second)
    assert first_csv == second_csv
    assert set(first["metadata"]) == {"generated_at", "generator", "language"}


async def test_a_unit_limited_token_sees_only_its_unit(engine: AsyncEngine, registry: Path) -> None:
    u1_only = await token(engine, units=["u1"])
    async with gateway(engine, registry) as client:
        report = (await client.get(URL, headers=u1_only)).json()
        csv_text = (await client.get(f"{URL}?format=csv", headers=u1_only)).text
        html = (await client.get(f"{URL}?format=html", headers=u1_only)).text
    assert report["scope"] == {
        "limited": True,
        "units": ["u1"],
        "description": "The units this token may read: Terveysasema",
    }
    (sa1,) = report["service_areas"]
    assert [u["unit_id"] for u in sa1["units"]] == ["u1"]
    assert [p["pathway_id"] for p in sa1["pathways"]] == ["astma"]
    total = report["total"]
    assert total["chat"]["month"] == Q1_OCTOBER
    assert total["chatbot"] is None  # county-wide figure
    assert total["nps"]["month"] == U1_NPS
    assert total["digital_share"]["month"] == U1_SHARE
    assert total["pathways"]["month"] == ASTMA
    assert report["targets"]["nps_by_unit"] == {"u1": 70.0}
    assert report["definitions"]["service_level_seconds"] == {"q1": 60}
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert {r["unit_id"] for r in rows} == {"", "u1"}
    assert {r["service_area_id"] for r in rows} == {"", "sa1"}
    assert "Avokuntoutus" not in html
    assert "Kuntoutuschat" not in html


async def test_one_service_area(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry) as client:
        report = (await client.get(f"{URL}?service_area=sa2", headers=reader)).json()
    assert report["scope"]["description"] == "Service area Kuntoutus: Avokuntoutus"
    assert [a["service_area_id"] for a in report["service_areas"]] == ["sa2"]
    assert report["total"]["chat"]["month"] == Q2_OCTOBER


async def test_a_units_drop_signal(engine: AsyncEngine, registry: Path) -> None:
    """u3 of test_gateway_feedback (not in the registry): steady from June 2025, its NPS
    collapsing from 30 August; the alarm is on from the evening of SINCE (in early September,
    worked out there) to the end of the month."""
    domain = FeedbackIngest(load_registry(registry), HELSINKI)
    await apply_batch(engine, domain, survey_events("u3", plan(collapses=True)))
    reader = await token(engine)
    september = "/v1/reports/monthly/2025-09?unit_id=u3"
    async with gateway(engine, registry) as client:
        report = (await client.get(september, headers=reader)).json()
        august = (await client.get("/v1/reports/monthly/2025-08?unit_id=u3", headers=reader)).json()
        csv_text = (await client.get(f"{september}&format=csv", headers=reader)).text
        html = (await client.get(f"{september}&format=html", headers=reader)).text
    (area,) = report["service_areas"]
    (unit,) = area["units"]
    assert (area["name"], unit["unit_id"], area["nps"]["drop"]) == (
        "Not in the registry",
        "u3",
        None,
    )
    days_on = 30 - SINCE.day + 1  # SINCE to 30 September
    assert unit["nps"]["drop"] == {
        "alarm_at_month_end": True,
        "since": SINCE.isoformat(),
        "days_on": days_on,
        "method": "cusum",
    }
    in_september = evenings(HISTORIES["u3"], until=date(2025, 9, 30))[-30:]
    assert sum(e.alarm for e in in_september) == days_on
    assert august["service_areas"][0]["units"][0]["nps"]["drop"] == {
        "alarm_at_month_end": False,  # 4.70 nats on 31 August
        "since": None,
        "days_on": 0,
        "method": "cusum",
    }
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert csv_row(rows, unit_id="u3", measure="drop_since")["month"] == SINCE.isoformat()
    assert csv_row(rows, unit_id="u3", measure="drop_days_on")["month"] == str(days_on)
    assert date(2025, 9, 2) == SINCE
    assert "Drop signalled since Sep 2, 2025." in html  # the English report's date


def csv_row(rows: list[dict[str, str]], **match: str) -> dict[str, str]:
    (found,) = [r for r in rows if all(r[k] == v for k, v in match.items())]
    return found


async def test_csv_is_one_long_table(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry) as client:
        response = await client.get(f"{URL}?format=csv", headers=reader)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="kanava-report-2025-10.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
        "section",
        "level",
        "service_area_id",
        "unit_id",
        "item",
        "name",
        "measure",
        "month",
        "previous_month",
        "year_before",
        "target",
        "target_met",
    ]
    assert csv_row(rows, section="report", measure="period") == {
        "section": "report",
        "level": "total",
        "service_area_id": "",
        "unit_id": "",
        "item": "",
        "name": "Monthly report October 2025",
        "measure": "period",
        "month": "2025-10",
        "previous_month": "2025-09",
        "year_before": "2024-10",
        "target": "",
        "target_met": "",
    }
    level = csv_row(rows, section="chat", level="queue", item="q1", measure="service_level")
    assert (level["service_area_id"], level["unit_id"], level["name"]) == (
        "sa1",
        "u1",
        "Terveysasemachat",
    )
    assert [level[k] for k in ("month", "previous_month", "year_before")] == ["0.5", "1.0", "0.0"]
    assert (level["target"], level["target_met"]) == ("0.8", "false")
    offered = csv_row(rows, section="chat", level="total", measure="offered")
    assert [offered[k] for k in ("month", "previous_month", "year_before")] == ["7", "2", "1"]
    u1_nps = csv_row(rows, section="nps", level="unit", unit_id="u1", measure="nps")
    assert [u1_nps[k] for k in ("month", "previous_month", "year_before")] == ["50.0", "80.0", ""]
    assert (u1_nps["target"], u1_nps["target_met"]) == ("70.0", "false")
    u2_nps = csv_row(rows, section="nps", level="unit", unit_id="u2", measure="nps")
    assert (u2_nps["month"], u2_nps["target"], u2_nps["target_met"]) == ("", "75.0", "")
    suppressed = csv_row(rows, section="nps", level="unit", unit_id="u2", measure="suppressed")
    assert suppressed["month"] == "true"
    drop = [r for r in rows if r["unit_id"] == "u1" and r["measure"].startswith("drop_")]
    assert [(r["measure"], r["month"], r["previous_month"], r["target"]) for r in drop] == [
        ("drop_alarm_at_month_end", "false", "", ""),
        ("drop_since", "", "", ""),
        ("drop_days_on", "0", "", ""),
        ("drop_method", "none", "", ""),
    ]
    assert not [r for r in rows if r["level"] != "unit" and r["measure"].startswith("drop_")]
    u1_share = csv_row(rows, section="digital_share", unit_id="u1", measure="digital_share")
    assert (u1_share["month"], u1_share["previous_month"], u1_share["year_before"]) == (
        "0.375",
        "0.5",
        "0.25",
    )
    assert u1_share["target_met"] == "true"
    phone = csv_row(
        rows, section="digital_share", unit_id="u1", item="phone", measure="contacts_in_channel"
    )
    assert [phone[k] for k in ("month", "previous_month", "year_before")] == ["2", "0", "0"]
    starts = csv_row(rows, section="pathways", level="pathway", item="astma", measure="starts")
    assert [starts[k] for k in ("month", "previous_month", "year_before")] == ["1", "2", "1"]
    assert starts["service_area_id"] == "sa1"
    bots = csv_row(rows, section="chatbot", measure="containment")
    assert (bots["month"], bots["previous_month"]) == ("0.5", "")


async def test_html_is_one_page_with_its_charts(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry) as client:
        response = await client.get(f"{URL}?format=html", headers=reader)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") == 5
    assert "<script" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    for shown in (
        "Monthly report October 2025",
        "Compared with September 2025 and October 2024",
        "Terveysasemachat (60 s)",
        "Kuntoutuschat (120 s)",
        "50.0%",  # q1 service level
        "66.7%",  # all queues
        "72 s",  # ASA
        "50.0",  # u1 NPS
        "suppressed",
        "37.5%",  # u1 digital share
        "33.3%",  # total digital share
        "≥ 80%",
        "≥ 70",
        "not met",
        "Astma",
        "kanava-report-1",
        "chat, e-service, message, pathway, video",  # the digital channels, as named
    ):
        assert shown in html, shown


def pdf_text(body: bytes) -> str:
    reader = PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages)


async def test_pdf_holds_the_figures_and_charts(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry) as client:
        response = await client.get(f"{URL}?format=pdf", headers=reader)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        'attachment; filename="kanava-report-2025-10.pdf"'
    )
    body = response.content
    assert body.startswith(b"%PDF")
    pages = PdfReader(io.BytesIO(body)).pages
    width, height = float(pages[0].mediabox.width), float(pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = pdf_text(body)
    for shown in (
        "Monthly report October 2025",
        "Terveysasemachat",
        "66.7%",
        "72 s",
        "37.5%",
        "Astma",
        # chart titles and labels are SVG text drawn into the PDF
        "Chat service level by month",
        "NPS by unit, Oct 2025",
        "Contacts by channel, Oct 2025",
        "10/24",
    ):
        assert shown in text, shown


@pytest.mark.parametrize("month", ["2025-13", "abc", "2025-1", "0999-01", "2025-10-01"])
async def test_a_bad_month_is_a_json_error(engine: AsyncEngine, registry: Path, month: str) -> None:
    reader = await token(engine)
    async with gateway(engine, registry) as client:
        response = await client.get(f"/v1/reports/monthly/{month}", headers=reader)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


async def test_bad_requests(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry) as client:
        unknown_format = await client.get(f"{URL}?format=docx", headers=reader)
        anonymous = await client.get(URL)
        bad_month = await client.get("/v1/reports/monthly/2025-13", headers=reader)
    assert unknown_format.status_code == 422
    assert unknown_format.json()["error"] == "invalid_request"
    assert anonymous.status_code == 401
    assert bad_month.json() == {
        "error": "invalid_request",
        "detail": [
            {
                "where": "path.month",
                "problem": "does not match ^[1-9][0-9]{3}-(0[1-9]|1[0-2])$",
            }
        ],
    }


async def test_a_month_without_data(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry) as client:
        report = (await client.get("/v1/reports/monthly/2023-01", headers=reader)).json()
        pdf = await client.get("/v1/reports/monthly/2023-01?format=pdf", headers=reader)
    assert report["service_areas"] == []
    assert report["total"] == {
        "name": "County",
        "chat": None,
        "chatbot": None,
        "nps": None,
        "digital_share": None,
        "pathways": None,
    }
    assert pdf.content.startswith(b"%PDF")
    assert "No data for this month" in pdf_text(pdf.content)


async def test_the_earliest_months(engine: AsyncEngine, registry: Path) -> None:
    """1000-12 is compared with 0999-12, a label no request may name."""
    reader = await token(engine)
    async with gateway(engine, registry) as client:
        html = await client.get("/v1/reports/monthly/1000-12?format=html", headers=reader)
    assert html.status_code == 200
    assert "Compared with November 1000 and December 0999." in html.text


async def test_the_report_is_in_the_openapi_document(engine: AsyncEngine, registry: Path) -> None:
    async with gateway(engine, registry) as client:
        document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/v1/reports/monthly/{month}"]["get"]
    content = operation["responses"]["200"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/MonthlyReport"}
    assert set(content) == {"application/json", "text/csv", "text/html", "application/pdf"}
    assert {p["name"] for p in operation["parameters"]} == {
        "month",
        "format",
        "unit_id",
        "service_area",
        "lang",
    }
    assert "ChatComparison" in document["components"]["schemas"]


async def kanava(env: dict[str, str], cwd: Path, *argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        *argv,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_command_line_writes_a_pdf(
    database_url: str, registry: Path, tmp_path: Path
) -> None:
    output = tmp_path / "report.pdf"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANAVA_")}
    env |= {"KANAVA_DATABASE_URL": database_url, "KANAVA_REGISTRY_FILE": str(registry)}
    env |= {"KANAVA_LANGUAGE": "en"}
    code, out, err = await kanava(
        env, project_root(), "report", "2025-10", "--format", "pdf", "-o", str(output)
    )
    assert code == 0, err
    assert out.startswith(f"wrote {output} (Monthly report October 2025, pdf, ")
    body = output.read_bytes()
    assert body.startswith(b"%PDF")
    text = pdf_text(body)
    assert "Terveysasemachat" in text
    assert "66.7%" in text

    code, out, err = await kanava(env, tmp_path, "report", "2025-10", "--format", "csv")
    assert code == 0, err
    assert (tmp_path / "kanava-report-2025-10.csv").read_text().startswith("section,level,")
    code, out, err = await kanava(env, project_root(), "report", "2025-13")
    assert code == 2
    assert "is not a month YYYY-MM" in err
