"""The reader's language through the gateway and `kanava report`: the monthly report of
test_monthly_report's data set in Finnish, Swedish and English (JSON labels, CSV headers, HTML,
the PDF's extracted text), the registry's names per language, the choice by `lang`,
Accept-Language and KANAVA_LANGUAGE (default fi), error texts and the wallboard's page."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.settings import Settings
from tests.integration.test_monthly_report import URL, kanava, pdf_text, registry
from tests.support.gateway import gateway, token
from tests.support.infra import project_root

__all__ = ["registry"]  # the fixture: test_monthly_report's data set, stored
NBSP = "\u00a0"
FINNISH = Settings()  # the deployment's default language
SWEDISH = {"Accept-Language": "sv-FI,sv;q=0.9"}  # as a browser in Swedish sends it


def with_swedish_names(registry: Path) -> Path:
    text = (
        registry.read_text(encoding="utf-8")
        .replace("name: Terveysasema,", "name: Terveysasema, names: {sv: Hälsostation},")
        .replace("name: Terveysasemachat,", "name: Terveysasemachat, names: {sv: Hälsochatt},")
    )
    registry.write_text(text, encoding="utf-8")
    return registry


async def test_the_report_in_finnish_by_default(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry, settings=FINNISH) as client:
        report = (await client.get(URL, headers=reader)).json()
        html = (await client.get(f"{URL}?format=html", headers=reader)).text
        table = (await client.get(f"{URL}?format=csv", headers=reader)).text
    assert report["title"] == "Kuukausiraportti lokakuu 2025"
    assert report["metadata"]["language"] == "fi"
    assert report["total"]["name"] == "Hyvinvointialue"
    terms = [term["term"] for term in report["definitions"]["terms"]]
    assert terms[:6] == [
        "Jaksot",
        "Jonoon tulleet",
        "Palvelutaso",
        "Palvelutasotavoite",
        "Keskimääräinen vastausaika (ASA)",
        "Jonosta poistuneiden osuus",
    ]
    header = next(csv.reader(io.StringIO(table)))
    assert header[:7] == ["osio", "taso", "palvelualue", "yksikkö", "kohde", "nimi", "mittari"]
    assert '<html lang="fi">' in html
    for shown in (
        "Kuukausiraportti lokakuu 2025",
        "Vertailukohtina syyskuu 2025 ja lokakuu 2024.",
        "Chatin palvelutaso",
        "Keskimääräinen vastausaika",
        "Chatin jonosta poistuneiden osuus",
        "Asiakaspalaute (NPS)",
        "Digitaalisten kontaktien osuus",
        f"66,7{NBSP}%",  # all queues' service level, as Finnish writes it
        f"≥ 80{NBSP}%",
        "ei saavutettu",
        "piilotettu",  # u2's NPS: too few responses
    ):
        assert shown in html, shown
    assert "Monthly report" not in html


@pytest.mark.parametrize(
    ("asked", "header", "title"),
    [
        ("lang=sv", {}, "Månadsrapport oktober 2025"),
        ("lang=en", {"Accept-Language": "sv"}, "Monthly report October 2025"),  # lang first
        ("", {"Accept-Language": "sv-FI, fi;q=0.5"}, "Månadsrapport oktober 2025"),
        ("", {"Accept-Language": "de, en;q=0.8"}, "Monthly report October 2025"),
        ("", {"Accept-Language": "de"}, "Kuukausiraportti lokakuu 2025"),  # the default
    ],
)
async def test_the_language_is_asked_for_or_negotiated(
    engine: AsyncEngine, registry: Path, asked: str, header: dict[str, str], title: str
) -> None:
    reader = await token(engine)
    async with gateway(engine, registry, settings=FINNISH) as client:
        response = await client.get(f"{URL}?{asked}", headers=reader | header)
    assert response.json()["title"] == title


async def test_the_deployment_chooses_its_default(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry, settings=Settings(language="sv")) as client:
        response = await client.get(URL, headers=reader)
    assert response.json()["title"] == "Månadsrapport oktober 2025"


async def test_the_report_in_swedish_with_the_registrys_swedish_names(
    engine: AsyncEngine, registry: Path
) -> None:
    reader = await token(engine)
    async with gateway(engine, with_swedish_names(registry), settings=FINNISH) as client:
        report = (await client.get(f"{URL}?lang=sv", headers=reader)).json()
        finnish = (await client.get(URL, headers=reader)).json()
        pdf = await client.get(f"{URL}?format=pdf&lang=sv", headers=reader)
    async with gateway(engine, registry, settings=FINNISH) as client:
        queues = (await client.get("/v1/chat/queues", headers=reader | SWEDISH)).json()
        forecast = (await client.get("/v1/chat/forecast?lang=sv", headers=reader)).json()
    names = {q["queue_id"]: q["name"] for q in queues["queues"]}
    assert names == {"q1": "Hälsochatt", "q2": "Kuntoutuschat"}  # q2: no Swedish name
    assert [q["name"] for q in forecast["queues"]] == ["Hälsochatt", "Kuntoutuschat"]
    (sa1, _) = report["service_areas"]
    assert [u["name"] for u in sa1["units"]] == ["Hälsostation"]
    assert [u["name"] for u in finnish["service_areas"][0]["units"]] == ["Terveysasema"]
    assert sa1["name"] == "Vastaanotto"  # no Swedish name in the registry: its own
    assert pdf.status_code == 200
    text = pdf_text(pdf.content)
    for shown in (
        "Månadsrapport oktober 2025",
        "Hälsostation",
        "Servicenivå",
        "Genomsnittlig svarstid",
        "Andel digitala kontakter",
        f"66,7{NBSP}%",
    ):
        assert shown in text.replace(" %", f"{NBSP}%"), shown  # PDF text loses the NBSP


async def test_the_finnish_pdf(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    async with gateway(engine, registry, settings=FINNISH) as client:
        pdf = await client.get(f"{URL}?format=pdf", headers=reader)
    text = pdf_text(pdf.content).replace(" %", f"{NBSP}%")
    for shown in (
        "Kuukausiraportti lokakuu 2025",
        "Chatin palvelutaso kuukausittain",  # a chart's title, SVG text in the PDF
        "Palvelutaso",
        "Keskimääräinen vastausaika",
        "Jonosta poistuneiden osuus",
        "Asiakaspalaute (NPS)",
        "Digitaalisten kontaktien osuus",
        "Määritelmät ja asetukset",
        f"66,7{NBSP}%",
        "sivu 1 / ",  # the page footer
    ):
        assert shown in text, shown


async def test_error_texts_follow_the_language(engine: AsyncEngine, registry: Path) -> None:
    reader = await token(engine)
    stats = "/v1/chat/stats?from=2025-10-02&to=2025-10-01"
    async with gateway(engine, registry, settings=FINNISH) as client:
        finnish = await client.get(stats, headers=reader)
        swedish = await client.get(f"{stats}&lang=sv", headers=reader)
        english = await client.get(stats, headers=reader | {"Accept-Language": "en-GB"})
        missing = await client.get("/v1/chat/stats?granularity=week", headers=reader)
        unknown = await client.get(f"{URL}?lang=de", headers=reader)
        no_token = await client.get(URL)
    assert [r.status_code for r in (finnish, swedish, english)] == [422] * 3
    assert finnish.json() == {
        "error": "invalid_range",
        "detail": "from (2025-10-02) on myöhemmin kuin to (2025-10-01)",
    }
    assert english.json()["detail"] == "from (2025-10-02) is after to (2025-10-01)"
    assert swedish.json()["detail"] != english.json()["detail"]
    assert "2025-10-02" in swedish.json()["detail"]
    assert missing.json()["detail"] == [
        {
            "where": "query.granularity",
            "problem": "on oltava jokin seuraavista: 'day', 'month', 'total'",
        }
    ]
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["where"] == "query.lang"
    assert (no_token.status_code, no_token.json()["detail"]) == (
        401,
        "lähetä Authorization: Bearer <token>",
    )


async def test_the_wallboard_page_in_each_language(engine: AsyncEngine, registry: Path) -> None:
    async with gateway(engine, registry, settings=FINNISH) as client:
        finnish = (await client.get("/")).text
        swedish = (await client.get("/", headers={"Accept-Language": "sv"})).text
        english = (await client.get("/?lang=en")).text
    assert '<html lang="fi">' in finnish
    assert "<h1>Chat-jonot</h1>" in finnish
    assert "Tarve / vuorossa" in finnish
    assert '<html lang="sv">' in swedish
    assert '<html lang="en">' in english
    assert "<span>Needed / on duty</span>" in english
    found = re.search(r'<script id="texts" type="application/json">(.*?)</script>', swedish)
    assert found is not None
    texts = json.loads(found.group(1))
    assert texts["Open"] != "Open"
    assert json.loads(re.search(r'"texts"[^>]*>(.*?)</script>', finnish).group(1))["Open"] == (  # type: ignore[union-attr]
        "Auki"
    )


async def test_the_command_line_writes_the_report_in_a_language(
    database_url: str, registry: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANAVA_")}
    env |= {"KANAVA_DATABASE_URL": database_url, "KANAVA_REGISTRY_FILE": str(registry)}
    code, out, err = await kanava(env, tmp_path, "report", "2025-10", "--format", "csv")
    assert code == 0, err
    assert out.startswith("wrote kanava-report-2025-10.csv (Kuukausiraportti lokakuu 2025, ")
    code, out, err = await kanava(
        env, tmp_path, "report", "2025-10", "--lang", "sv", "-o", "rapport.html"
    )
    assert code == 0, err
    assert '<html lang="sv">' in (tmp_path / "rapport.html").read_text(encoding="utf-8")
    code, out, err = await kanava(env | {"KANAVA_LANGUAGE": "en"}, project_root(), "report", "x")
    assert code == 2
