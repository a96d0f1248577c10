"""GET /v1/pathways/stats and /v1/contacts/digital-share over what the services stored; the
hand-worked scenarios of their store tests."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.months import whole_months
from services.common.registry import load_registry
from services.common.settings import DEFAULT_DIGITAL_CHANNELS, Settings
from services.contact_metrics.service import ContactMetrics
from services.pathway_metrics.service import PathwayMetrics
from tests.integration import test_contact_metrics_store as contacts
from tests.integration import test_pathway_metrics_store as pathways
from tests.integration.test_dashboards import Panels
from tests.support.apply import apply_batch
from tests.support.chat_events import at
from tests.support.contact_events import month_count
from tests.support.gateway import gateway, token

HELSINKI = ZoneInfo("Europe/Helsinki")
RANGE = "from=2025-11-03&to=2025-11-05"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "registry.yaml"
    units = "units: [{id: u1, name: U1, service_area: sa1}, {id: u2, name: U2, service_area: sa1}]"
    path.write_text(f"{pathways.REGISTRY}\n{units}\n", "utf-8")
    return path


async def test_pathway_stats(engine: AsyncEngine, registry: Path) -> None:
    await apply_batch(engine, PathwayMetrics(load_registry(registry), HELSINKI), pathways.events())
    reader, u1_only = await token(engine), await token(engine, units=["u1"])
    async with gateway(engine, registry) as client:
        total = (
            await client.get(f"/v1/pathways/stats?{RANGE}&granularity=total", headers=reader)
        ).json()
        days = (await client.get(f"/v1/pathways/stats?{RANGE}", headers=reader)).json()
        mine = (
            await client.get(f"/v1/pathways/stats?{RANGE}&granularity=total", headers=u1_only)
        ).json()
        nikotiini = (
            await client.get(f"/v1/pathways/stats?{RANGE}&pathway_id=nikotiini", headers=reader)
        ).json()
    assert total["rows"] == [
        {
            "period": "total",
            "pathway_id": None,
            "starts": 4,
            "completions": 1,
            "discontinued": 1,
            "active": 2,  # e3 and e4; e1 ended on the 5th
            "completion_rate": 0.5,
            "thumbs_up": 1,
            "thumbs_down": 1,
        }
    ]
    assert [(r["period"], r["starts"], r["active"]) for r in days["rows"]] == [
        ("2025-11-03", 4, 4),
        ("2025-11-04", 0, 3),
        ("2025-11-05", 0, 2),
    ]
    assert [(r["starts"], r["completions"], r["active"]) for r in mine["rows"]] == [(1, 1, 0)]
    assert [(r["pathway_id"], r["starts"], r["discontinued"]) for r in nikotiini["rows"]] == [
        ("nikotiini", 2, 0),
        ("nikotiini", 0, 1),
    ]


async def test_digital_share(engine: AsyncEngine, registry: Path) -> None:
    domain = ContactMetrics(load_registry(registry), HELSINKI, DEFAULT_DIGITAL_CHANNELS)
    await apply_batch(engine, domain, contacts.week())
    reader = await token(engine)
    url = f"/v1/contacts/digital-share?{RANGE}&granularity=total"
    async with gateway(engine, registry) as client:
        total = (await client.get(url, headers=reader)).json()
        units = (await client.get(f"{url}&by=unit", headers=reader)).json()
    u2_only = await token(engine, units=["u2"])
    async with gateway(engine, registry) as client:
        limited = (await client.get(url, headers=u2_only)).json()
    assert [(r["contacts"], r["digital_contacts"]) for r in limited["rows"]] == [(2, 2)]
    chat_only = Settings(digital_channels="chat")
    async with gateway(engine, registry, settings=chat_only) as client:
        narrow = (await client.get(url, headers=reader)).json()
    assert total == {
        "rows": [
            {
                "period": "total",
                "unit_id": None,
                "contacts": 5,
                "digital_contacts": 3,  # chat, message, video
                "digital_share": 0.6,
                "by_channel": {"chat": 1, "in_person": 1, "message": 1, "phone": 1, "video": 1},
            }
        ],
        "digital_channels": ["chat", "e_service", "message", "pathway", "video"],
    }
    assert [(r["unit_id"], r["digital_share"]) for r in units["rows"]] == [
        ("u1", 1 / 3),
        ("u2", 1.0),
    ]
    assert (narrow["rows"][0]["digital_share"], narrow["digital_channels"]) == (0.2, ["chat"])


def month_counts() -> list[Any]:
    """Imported monthly counts beside the recorded week (u1: in_person, chat, phone; u2:
    message, video, on 3 and 4 November 2025). October 2025 has no recorded contact, so its
    counts are the figures: u1 in_person 60, e_service 20 and, from another export, message
    5; u2 video 10, phone 30. November's counts (u1 in_person 100, chat 50; u2 phone 1000)
    are ignored: both units have recorded contacts in November."""
    when = at(6, "12:00:00")
    return [
        month_count("u1", "in_person", "2025-10", 60, when),
        month_count("u1", "e_service", "2025-10", 20, when),
        month_count("u1", "message", "2025-10", 5, when, export="kanta"),
        month_count("u2", "video", "2025-10", 10, when),
        month_count("u2", "phone", "2025-10", 30, when),
        month_count("u1", "in_person", "2025-11", 100, when),
        month_count("u1", "chat", "2025-11", 50, when),
        month_count("u2", "phone", "2025-11", 1000, when),
    ]


async def test_digital_share_with_imported_monthly_counts(
    engine: AsyncEngine, registry: Path
) -> None:
    domain = ContactMetrics(load_registry(registry), HELSINKI, DEFAULT_DIGITAL_CHANNELS)
    await apply_batch(engine, domain, [*contacts.week(), *month_counts()])
    reader, u2_only = await token(engine), await token(engine, units=["u2"])
    url = "/v1/contacts/digital-share?from=2025-10-01&to=2025-11-30"
    async with gateway(engine, registry) as client:
        months = (await client.get(f"{url}&granularity=month", headers=reader)).json()
        units = (await client.get(f"{url}&granularity=month&by=unit", headers=reader)).json()
        total = (await client.get(f"{url}&granularity=total", headers=reader)).json()
        days = (await client.get(url, headers=reader)).json()
        cut = (
            await client.get(
                "/v1/contacts/digital-share?from=2025-10-02&to=2025-11-30&granularity=month",
                headers=reader,
            )
        ).json()
        mine = (await client.get(f"{url}&granularity=month", headers=u2_only)).json()
    # October: in_person 60, e_service 20, message 5, video 10, phone 30: 35 digital of 125
    october = {"e_service": 20, "in_person": 60, "message": 5, "phone": 30, "video": 10}
    november = {"chat": 1, "in_person": 1, "message": 1, "phone": 1, "video": 1}
    assert months["rows"] == [
        {
            "period": "2025-10",
            "unit_id": None,
            "contacts": 125,
            "digital_contacts": 35,
            "digital_share": 0.28,
            "by_channel": october,
        },
        {
            "period": "2025-11",
            "unit_id": None,
            "contacts": 5,
            "digital_contacts": 3,
            "digital_share": 0.6,
            "by_channel": november,
        },
    ]
    assert [
        (r["period"], r["unit_id"], r["contacts"], r["digital_contacts"]) for r in units["rows"]
    ] == [
        ("2025-10", "u1", 85, 25),
        ("2025-10", "u2", 40, 10),
        ("2025-11", "u1", 3, 1),  # the recorded contacts only, not 3 + 150
        ("2025-11", "u2", 2, 2),
    ]
    assert [(r["period"], r["contacts"], r["digital_contacts"]) for r in total["rows"]] == [
        ("total", 130, 38)
    ]
    # counts have no days; a range that cuts October leaves its counts out
    assert [(r["period"], r["contacts"]) for r in days["rows"]] == [
        ("2025-11-03", 4),
        ("2025-11-04", 1),
    ]
    assert [(r["period"], r["contacts"]) for r in cut["rows"]] == [("2025-11", 5)]
    assert [(r["period"], r["contacts"], r["digital_contacts"]) for r in mine["rows"]] == [
        ("2025-10", 40, 10),
        ("2025-11", 2, 2),
    ]
    # the monthly-report dashboard's trend applies the same rule (contact_month_counts_used)
    await domain.refresh(engine)  # records the digital channels in use, which the panel reads
    span = datetime(2025, 10, 1, tzinfo=HELSINKI), datetime(2025, 11, 30, 23, tzinfo=HELSINKI)
    trend = await Panels(engine).rows(
        "monthly-report.json", "Digital share by month", {"unit": ["u1", "u2"]}, span
    )
    assert [(r.time.astimezone(HELSINKI).date(), r.digital_share) for r in trend] == [
        (date(2025, 10, 1), 0.28),  # 35 / 125, from the imported counts
        (date(2025, 11, 1), 0.6),  # 3 / 5, the recorded contacts only
    ]


def test_whole_months_of_a_range() -> None:
    assert whole_months(date(2025, 10, 1), date(2025, 11, 30)) == (
        date(2025, 10, 1),
        date(2025, 11, 1),
    )
    assert whole_months(date(2025, 10, 2), date(2025, 11, 29)) == (
        date(2025, 11, 1),
        date(2025, 10, 1),
    )
    assert whole_months(date(2024, 2, 1), date(2024, 2, 29)) == (
        date(2024, 2, 1),
        date(2024, 2, 1),
    )
