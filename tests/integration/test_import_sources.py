"""`kanava import` of survey results and care-pathway starts through a real broker into
feedback_ingest's and pathway_metrics' figures: worked out by hand, a re-import counting nothing
twice, bad rows in the error file while the good ones go on, and no personal data in clear in
the messages sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.cli import main
from services.common.events import FEEDBACK, PATHWAY, Envelope, Stream
from services.common.hashing import hash_recipient
from services.common.registry import load_registry
from services.common.settings import get_settings
from services.feedback_ingest.service import FeedbackIngest
from services.gateway.feedback.repository import nps_sums
from services.gateway.feedback.service import nps_figures
from services.gateway.periods import Selection
from services.pathway_metrics.service import PathwayMetrics
from services.simulator.exports import EXPORTS
from tests.integration.test_feedback_store import REGISTRY as FEEDBACK_REGISTRY
from tests.integration.test_import import run
from tests.integration.test_pathway_metrics_store import REGISTRY as PATHWAY_REGISTRY
from tests.integration.test_pathway_metrics_store import daily
from tests.integration.test_simulator_produce import TopicReader, open_reader
from tests.support.apply import apply_batch

HELSINKI = ZoneInfo("Europe/Helsinki")
E = TypeVar("E", bound=Envelope)
COMMENT = "Soittakaa 040 765 4321 tai maija@example.fi, hetu 131052-308T"
SURVEYS = f"""Kysely;Lähetetty;Yksikkö;Puhelin;Tila;Vastattu;Suositus;Väittämä 1;Kommentti
s1;3.11.2025 10:00;Yksikkö 1;040 123 4567;;3.11.2025 10:05;10;5;
s2;3.11.2025 10:10;Yksikkö 1;040 123 4568;;3.11.2025 11:00;9;;
s3;4.11.2025 12:00;Yksikkö 1;040 123 4569;;4.11.2025 12:30;8;4;"{COMMENT}"
s4;5.11.2025 9:00;Yksikkö 1;;;5.11.2025 9:01;6;;
s5;28.11.2025 9:00;Yksikkö 1;;;29.11.2025 9:00;3;1;
s6;30.11.2025 23:30;Yksikkö 1;;;1.12.2025 8:00;9;;
s7;3.11.2025 10:20;Yksikkö 1;;;;;;
s8;3.11.2025 10:30;Yksikkö 1;;ei toimitettu;;;;
s9;3.11.2025 10:40;Yksikkö 1;;;3.11.2025 10:45;kymppi;;
s10;3.11.2025 10:50;u2;;;3.11.2025 10:55;7;;
"""
SURVEY_MAPPING = """\
source: survey_results
name: wheelq-2025
time_format: "%d.%m.%Y %H:%M"
delimiter: ";"
columns: {survey_id: Kysely, sent: Lähetetty, unit: Yksikkö, recipient: Puhelin,
          delivery_failed: Tila, answered: Vastattu, score: Suositus, comment: Kommentti}
statements: {THL01: Väittämä 1}
units: {"Yksikkö 1": u1}
yes: ["ei toimitettu"]
"""
STARTS = """Tunnus,Polku,Yksikkö,Aloitettu,Valmis
e1,Astma,u1,2025-11-03 09:00,2025-11-05 12:00
e2,nikotiini,u2,2025-11-03 11:00,
e3,nikotiini,u2,2025-11-03 23:30,
e4,Astma,u1,2025-11-04 08:00,
e5,Astma,u1,2025-11-04 9:00,
"""
START_MAPPING = """\
source: pathway_starts
name: polut-2025
columns: {enrolment_id: Tunnus, pathway: Polku, unit: Yksikkö, started: Aloitettu,
          completed: Valmis}
pathways: {Astma: astma}
"""


@pytest.fixture
async def feedback_reader(broker: str) -> AsyncIterator[TopicReader]:
    async for opened in open_reader(broker, FEEDBACK):
        yield opened


@pytest.fixture
async def pathway_reader(broker: str) -> AsyncIterator[TopicReader]:
    async for opened in open_reader(broker, PATHWAY):
        yield opened


def files(tmp_path: Path, export: str, mapping: str) -> tuple[str, str]:
    (csv_file := tmp_path / "export.csv").write_text(export, encoding="utf-8")
    (yaml_file := tmp_path / "export.yaml").write_text(mapping, encoding="utf-8")
    return str(csv_file), str(yaml_file)


def registry(tmp_path: Path, text: str) -> Any:
    (path := tmp_path / "registry.yaml").write_text(text, encoding="utf-8")
    return load_registry(path)


async def sent_events(
    reader: TopicReader, stream: Stream[E], count: int
) -> tuple[list[bytes], list[E]]:
    values = [r.value for r in await reader.appended(count)]
    return values, [stream.adapter.validate_json(v) for v in values]


async def november_of_u1(engine: AsyncEngine) -> dict[str, Any]:
    sel = Selection(date(2025, 11, 1), date(2025, 11, 30), "month", None, None, None, None)
    async with engine.connect() as conn:
        rows = await nps_sums(conn, sel, ["u1"], by_unit=True)
    (row,) = rows
    return dict(nps_figures(row.counts, 5))


async def test_survey_results_become_the_units_nps(
    tmp_path: Path,
    feedback_reader: TopicReader,
    engine: AsyncEngine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    export, mapping = files(tmp_path, SURVEYS, SURVEY_MAPPING)
    assert await run(export, "--mapping", mapping) == 3
    # s1-s6 and s10 sent and answered (14), s7 only sent (1), s8 sent and not delivered (2);
    # s9 is bad
    assert capsys.readouterr().out.startswith(
        "kanava import: 10 of 10 rows, 9 good, 1 bad; sent 17 events\n"
    )
    errors = (tmp_path / "export.csv.errors.csv").read_text(encoding="utf-8").splitlines()
    assert errors == [  # the mapped columns, then the statements' columns
        "line,reason,Kysely,Lähetetty,Yksikkö,Puhelin,Tila,Vastattu,Suositus,Kommentti,Väittämä 1",
        "10,score: 'kymppi' is not a whole number from 0 to 10,s9,3.11.2025 10:40,Yksikkö 1,,,"
        "3.11.2025 10:45,kymppi,,",
    ]
    values, events = await sent_events(feedback_reader, FEEDBACK, 17)
    clear = ("+358", "40123456", "765 4321", "maija@example.fi", "131052-308T")
    assert not [v for v in values for text in clear if text.encode() in v]
    data = [(e.type, e.model_dump(mode="json", exclude_none=True)["data"]) for e in events]
    (comment,) = [d["comment"] for kind, d in data if kind == "survey.answered" and "comment" in d]
    assert comment == "Soittakaa [puhelinnumero] tai [sähköposti], hetu [henkilötunnus]"
    key = get_settings().phone_hash_key.get_secret_value()
    recipients = {d["survey_id"]: d.get("recipient") for kind, d in data if kind == "survey.sent"}
    assert [recipients[f"wheelq-2025:s{n}"] for n in (1, 2, 3, 4)] == [
        hash_recipient(f"+35840123456{n}", key) for n in (7, 8, 9)
    ] + [None]

    domain = FeedbackIngest(registry(tmp_path, FEEDBACK_REGISTRY), HELSINKI)
    assert len(await apply_batch(engine, domain, events)) == 17
    # u1 in November (by the day sent): s1-s8 sent, s8 not delivered; s6 sent on the 30th
    # answered on 1 December counts in November. Scores 10, 9, 8, 6, 3, 9: promoters 3,
    # passives 1, detractors 2; NPS (3 - 2) / 6 = 16.7; 6 responses of 7 delivered.
    november = await november_of_u1(engine)
    assert {k: november[k] for k in ("surveys_sent", "delivery_failed", "responses")} == {
        "surveys_sent": 8,
        "delivery_failed": 1,
        "responses": 6,
    }
    assert (november["promoters"], november["passives"], november["detractors"]) == (3, 1, 2)
    assert november["nps"] == pytest.approx(100 / 6)
    assert november["response_rate"] == pytest.approx(6 / 7)

    assert await run(export, "--mapping", mapping) == 3  # again: the same events, counted once
    _, again = await sent_events(feedback_reader, FEEDBACK, 17)
    assert sorted(e.id for e in again) == sorted(e.id for e in events)
    assert await apply_batch(engine, domain, again) == []
    assert await november_of_u1(engine) == november


async def test_pathway_starts_become_the_starts_of_each_day(
    tmp_path: Path,
    pathway_reader: TopicReader,
    engine: AsyncEngine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    export, mapping = files(tmp_path, STARTS, START_MAPPING)
    assert await run(export, "--mapping", mapping) == 3
    assert capsys.readouterr().out.startswith(
        "kanava import: 5 of 5 rows, 4 good, 1 bad; sent 5 events\n"
    )
    errors = (tmp_path / "export.csv.errors.csv").read_text(encoding="utf-8").splitlines()
    assert errors[1:] == [
        "6,started: '2025-11-04 9:00' is not a time (ISO 8601),e5,Astma,u1,2025-11-04 9:00,"
    ]
    _, events = await sent_events(pathway_reader, PATHWAY, 5)
    domain = PathwayMetrics(registry(tmp_path, PATHWAY_REGISTRY), HELSINKI)
    assert len(await apply_batch(engine, domain, events)) == 5
    # astma (professional, oma, sa1 from the registry): e1 on the 3rd, completed on the 5th,
    # e4 on the 4th; nikotiini (self_care, hva, sa2): e2 and e3 on the 3rd (23:30 local)
    stored = await daily(engine)
    figures = {
        (day, pathway, unit): measures
        for (day, pathway, _, _, _, unit, _), measures in stored.items()
    }
    assert figures == {
        (date(2025, 11, 3), "astma", "u1"): {"starts": 1},
        (date(2025, 11, 3), "nikotiini", "u2"): {"starts": 2},
        (date(2025, 11, 4), "astma", "u1"): {"starts": 1},
        (date(2025, 11, 5), "astma", "u1"): {"completions": 1},
    }
    assert await run(export, "--mapping", mapping) == 3
    _, again = await sent_events(pathway_reader, PATHWAY, 5)
    assert await apply_batch(engine, domain, again) == []
    assert await daily(engine) == stored


async def test_the_demo_history_writes_and_imports_every_export(
    tmp_path: Path, broker: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # October 2025: a whole month, so the contact counts have one too
    argv = ["demo-history", str(tmp_path), "--before", "2025-11-01", "--months", "1"]
    assert await asyncio.to_thread(main, argv) == 0
    lines = capsys.readouterr().out.splitlines()
    written = [line for line in lines if line.startswith("kanava sample-exports: ")]
    summaries = [line for line in lines if line.startswith("kanava import: ")]
    assert len(written) == len(summaries) == len(EXPORTS) == 4
    assert all(", 0 bad; sent " in line for line in summaries)
    assert not [line for line in summaries if line.startswith("kanava import: 0 of 0 rows")]
