"""GET /v1/feedback/statements and /v1/feedback/answers.csv over what feedback_ingest stored:
the national model's statements, worked out by hand."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.registry import load_registry
from services.common.settings import Settings
from services.feedback_ingest.service import FeedbackIngest
from tests.integration.test_dashboards import STATEMENT_BARS as BARS
from tests.integration.test_dashboards import STATEMENT_TABLE as TABLE
from tests.integration.test_dashboards import Panels
from tests.integration.test_feedback_store import R1, R2, R3, R4, R5, R6, REGISTRY
from tests.support.apply import apply_batch
from tests.support.chat_events import at
from tests.support.feedback_events import answered, sent
from tests.support.gateway import gateway, token

RANGE = "from=2025-11-03&to=2025-11-04"
FILE = "customer-feedback.json"
# (survey, recipient, unit, day of November, NPS score, statements)
SURVEYS = [
    ("s1", R1, "u1", 3, 9, {"t1": 5, "t2": 4}),
    ("s2", R2, "u1", 3, 7, {"t1": 4}),
    ("s3", R3, "u1", 3, 3, {"t1": 2, "t2": 1}),
    ("s4", R4, "u1", 3, 10, {}),
    ("s5", R5, "u2", 3, 8, {"t1": 3}),
    ("s6", R6, "u1", 4, 6, {"t1": 5}),
]


@pytest.fixture
async def registry(tmp_path: Path, engine: AsyncEngine) -> Path:
    (path := tmp_path / "registry.yaml").write_text(REGISTRY, encoding="utf-8")
    events = []
    for survey, to, unit, day, score, statements in SURVEYS:
        events.append(sent(survey, to, unit, at(day, "09:00:00")))
        events.append(answered(survey, score, at(day, "12:00:00"), statements=statements))
    await apply_batch(
        engine, FeedbackIngest(load_registry(path), ZoneInfo("Europe/Helsinki")), events
    )
    return path


def row(period: str, unit: str | None, statement: str, answers: list[int]) -> dict[str, object]:
    """The row of these answers with min_responses 2."""
    counts = {str(v): answers.count(v) for v in range(1, 6)}
    shown = len(answers) >= 2
    return {
        "period": period,
        "unit_id": unit,
        "statement": statement,
        "responses": len(answers),
        "distribution": counts,
        "mean": sum(answers) / len(answers) if shown else None,
        "suppressed": not shown,
    }


async def test_statements_per_unit_and_day_worked_by_hand(
    engine: AsyncEngine, registry: Path
) -> None:
    reader = await token(engine)
    async with gateway(engine, registry, settings=Settings(min_responses=2)) as client:
        total = await client.get(
            f"/v1/feedback/statements?{RANGE}&granularity=total", headers=reader
        )
        units = await client.get(
            f"/v1/feedback/statements?{RANGE}&granularity=total&by=unit", headers=reader
        )
        days = await client.get(f"/v1/feedback/statements?{RANGE}&granularity=day", headers=reader)
    assert total.status_code == 200
    # t1: 5, 4, 2 (u1) and 3 (u2) on the 3rd, 5 on the 4th; t2: 4 and 1; s4 answered none
    assert total.json() == {
        "rows": [row("total", None, "t1", [5, 4, 2, 3, 5]), row("total", None, "t2", [4, 1])],
        "min_responses": 2,
    }
    assert units.json()["rows"] == [
        row("total", "u1", "t1", [5, 4, 2, 5]),  # mean 16 / 4 = 4.0
        row("total", "u1", "t2", [4, 1]),  # mean 2.5
        row("total", "u2", "t1", [3]),  # one answer: the mean is left out
    ]
    assert days.json()["rows"] == [
        row("2025-11-03", None, "t1", [5, 4, 2, 3]),  # mean 3.5
        row("2025-11-03", None, "t2", [4, 1]),
        row("2025-11-04", None, "t1", [5]),
    ]
    assert units.json()["rows"][0]["mean"] == 4.0


async def test_a_limited_token_sees_its_units_statements(
    engine: AsyncEngine, registry: Path
) -> None:
    own = await token(engine, units=["u2"])
    async with gateway(engine, registry, settings=Settings(min_responses=1)) as client:
        rows = await client.get(f"/v1/feedback/statements?{RANGE}&granularity=total", headers=own)
        csv = await client.get(f"/v1/feedback/answers.csv?{RANGE}", headers=own)
    assert [(r["statement"], r["responses"], r["mean"]) for r in rows.json()["rows"]] == [
        ("t1", 1, 3.0)
    ]
    assert csv.text.splitlines() == [
        "date,unit_id,service_area,code,value",
        "2025-11-03,u2,sa2,nps,8",
        "2025-11-03,u2,sa2,t1,3",
    ]


async def test_the_answers_export_has_every_answer_and_nothing_personal(
    engine: AsyncEngine, registry: Path
) -> None:
    async with gateway(engine, registry) as client:
        response = await client.get(
            f"/v1/feedback/answers.csv?{RANGE}", headers=await token(engine)
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="feedback-answers-2025-11-03-2025-11-04.csv"'
    )
    assert response.text.split("\r\n") == [
        "date,unit_id,service_area,code,value",
        "2025-11-03,u1,sa1,nps,3",
        "2025-11-03,u1,sa1,nps,7",
        "2025-11-03,u1,sa1,nps,9",
        "2025-11-03,u1,sa1,nps,10",
        "2025-11-03,u1,sa1,t1,2",
        "2025-11-03,u1,sa1,t1,4",
        "2025-11-03,u1,sa1,t1,5",
        "2025-11-03,u1,sa1,t2,1",
        "2025-11-03,u1,sa1,t2,4",
        "2025-11-03,u2,sa2,nps,8",
        "2025-11-03,u2,sa2,t1,3",
        "2025-11-04,u1,sa1,nps,6",
        "2025-11-04,u1,sa1,t1,5",
        "",
    ]
    for survey, recipient, *_ in SURVEYS:
        assert survey not in response.text
        assert recipient not in response.text


def figures(unit: str | None, name: str, statement: str, answers: list[int]) -> dict[str, object]:
    """A statement of the monthly report, with min_responses 2."""
    shown = row("2025-11", unit, statement, answers)
    return {k: v for k, v in shown.items() if k != "period"} | {"name": name}


async def test_the_monthly_report_has_the_statements(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry, settings=Settings(min_responses=2)) as client:
        report = (await client.get("/v1/reports/monthly/2025-11?lang=en", headers=reader)).json()
        csv = await client.get("/v1/reports/monthly/2025-11?format=csv&lang=en", headers=reader)
    assert report["statements"] == [
        figures(None, "County", "t1", [5, 4, 2, 3, 5]),  # mean 19 / 5 = 3.8
        figures(None, "County", "t2", [4, 1]),
        figures("u1", "Unit 1", "t1", [5, 4, 2, 5]),
        figures("u1", "Unit 1", "t2", [4, 1]),
        figures("u2", "Unit 2", "t1", [3]),  # suppressed
    ]
    assert report["statements"][0]["mean"] == pytest.approx(3.8)
    lines = [line for line in csv.text.splitlines() if line.startswith("statements,")]
    assert lines[:8] == [
        "statements,total,,,t1,County,responses,5,,,,",
        "statements,total,,,t1,County,mean,3.8,,,,",
        "statements,total,,,t1,County,answered_1,0,,,,",
        "statements,total,,,t1,County,answered_2,1,,,,",
        "statements,total,,,t1,County,answered_3,1,,,,",
        "statements,total,,,t1,County,answered_4,1,,,,",
        "statements,total,,,t1,County,answered_5,2,,,,",
        "statements,total,,,t1,County,suppressed,false,,,,",
    ]
    assert "statements,unit,,u2,t1,Unit 2,mean,,,,," in lines
    assert len(lines) == 5 * 8


async def test_the_view_grafana_reads_has_each_answer_and_nothing_personal(
    engine: AsyncEngine, registry: Path
) -> None:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM feedback_statement_answers ORDER BY day, unit_id, statement, value")
        )
    assert list(rows.keys()) == ["day", "unit_id", "service_area", "statement", "value"]
    nov3, nov4 = date(2025, 11, 3), date(2025, 11, 4)
    assert [tuple(r) for r in rows] == [
        (nov3, "u1", "sa1", "t1", 2),  # s3
        (nov3, "u1", "sa1", "t1", 4),  # s2
        (nov3, "u1", "sa1", "t1", 5),  # s1
        (nov3, "u1", "sa1", "t2", 1),  # s3
        (nov3, "u1", "sa1", "t2", 4),  # s1
        (nov3, "u2", "sa2", "t1", 3),  # s5
        (nov4, "u1", "sa1", "t1", 5),  # s6; s4 answered no statement
    ]


async def test_the_dashboard_panels_show_the_statements_worked_out_by_hand(
    engine: AsyncEngine, registry: Path
) -> None:
    panels, units = Panels(engine), {"unit": ["u1", "u2"]}
    helsinki = ZoneInfo("Europe/Helsinki")
    both_days = datetime(2025, 11, 3, tzinfo=helsinki), datetime(2025, 11, 5, tzinfo=helsinki)
    fourth = datetime(2025, 11, 4, tzinfo=helsinki), datetime(2025, 11, 4, 23, tzinfo=helsinki)
    least_two = {**units, "min_responses": ["2"]}
    # unit, statement, n, mean, answered_1 … answered_5: the API's rows by unit (above)
    assert [tuple(r) for r in await panels.rows(FILE, TABLE, least_two, both_days)] == [
        ("u1", "t1", 4, 4.0, 0, 1, 0, 1, 2),  # 5, 4, 2, 5: 16 / 4
        ("u1", "t2", 2, 2.5, 1, 0, 0, 1, 0),  # 4, 1: 5 / 2
        ("u2", "t1", 1, None, 0, 0, 1, 0, 0),  # one answer: the mean is left out
    ]
    # the dashboard's own min_responses, 5: every mean left out, the counts still shown
    assert [tuple(r) for r in await panels.rows(FILE, TABLE, units, both_days)] == [
        ("u1", "t1", 4, None, 0, 1, 0, 1, 2),
        ("u1", "t2", 2, None, 1, 0, 0, 1, 0),
        ("u2", "t1", 1, None, 0, 0, 1, 0, 0),
    ]
    assert [tuple(r) for r in await panels.rows(FILE, TABLE, least_two, fourth)] == [
        ("u1", "t1", 1, None, 0, 0, 0, 0, 1),  # s6 only
    ]
    # statement, answered 1 … 5 over the units chosen
    assert [tuple(r) for r in await panels.rows(FILE, BARS, units, both_days)] == [
        ("t1", 0, 1, 1, 1, 2),  # 5, 4, 2, 3, 5
        ("t2", 1, 0, 0, 1, 0),  # 4, 1
    ]
    assert [tuple(r) for r in await panels.rows(FILE, BARS, {"unit": ["u2"]}, both_days)] == [
        ("t1", 0, 0, 1, 0, 0),
    ]
