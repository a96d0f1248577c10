"""The reader's language and its formats: negotiation by `lang`, Accept-Language and the
deployment's default; numbers and dates as each locale writes them (Babel's CLDR data)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.common.i18n import Language, negotiate, preferred, translator
from services.common.registry import load_registry

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("asked", "header", "chosen"),
    [
        ("sv", "en", "sv"),  # lang first
        (None, "sv-FI,sv;q=0.9,en;q=0.8", "sv"),  # a region tag counts as its language
        (None, "de-DE,de;q=0.9,en;q=0.5,fi;q=0.7", "fi"),  # by quality
        (None, "en;q=0.2, sv;q=0.8", "sv"),
        (None, "sv;q=0, en", "en"),  # q=0: not wanted
        (None, "de, *", "fi"),  # nothing of ours: the default
        (None, "", "fi"),
        ("de", None, "fi"),  # an unknown lang counts as not given (the API refuses it first)
        (None, "en;q=abc, sv", "sv"),  # a bad quality: not wanted
    ],
)
def test_the_language_chosen(asked: str | None, header: str | None, chosen: Language) -> None:
    assert negotiate(asked, header, "fi") == chosen


def test_the_tags_of_an_accept_language_header_most_wanted_first() -> None:
    assert preferred("fi;q=0.5, sv-FI, en;q=0.9, *;q=0.1") == ["sv-FI", "en", "fi"]


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("fi", [f"68,0{NBSP}%", f"1{NBSP}234{NBSP}567", "3.12.2026", "joulukuu 2026", "4,17"]),
        ("sv", [f"68,0{NBSP}%", f"1{NBSP}234{NBSP}567", "3 dec. 2026", "december 2026", "4,17"]),
        ("en", ["68.0%", "1,234,567", "Dec 3, 2026", "December 2026", "4.17"]),
    ],
)
def test_numbers_and_dates_as_the_locale_writes_them(language: Language, shown: list[str]) -> None:
    t = translator(language)
    formatted = [
        t.percent(0.68),
        t.integer(1234567),
        t.day(date(2026, 12, 3)),
        t.month("2026-12"),
        t.decimal(4.1666, 2),
    ]
    assert formatted == shown
    assert (t.percent(None), t.integer(None), t.decimal(None)) == ("\u2013",) * 3


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("fi", "Kuukausiraportti joulukuu 2026"),
        ("sv", "Månadsrapport december 2026"),
        ("en", "Monthly report December 2026"),
    ],
)
def test_a_text_in_each_language(language: Language, text: str) -> None:
    t = translator(language)
    assert t("Monthly report {month}", month=t.month("2026-12")) == text


def test_the_registry_may_name_a_unit_in_each_language(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(
        "service_areas: [{id: sa, name: Vastaanotto, names: {sv: Mottagning}}]\n"
        "units: [{id: u, name: Terveysasema, service_area: sa,"
        " names: {sv: Hälsostation, en: Health centre}}]\n",
        encoding="utf-8",
    )
    registry = load_registry(path)
    unit = registry.units[0]
    assert [unit.name_in(lang) for lang in ("fi", "sv", "en")] == [
        "Terveysasema",
        "Hälsostation",
        "Health centre",
    ]
    assert registry.service_areas[0].name_in("en") == "Vastaanotto"  # no English name: its own
    path.write_text("units: [{id: u, name: U, service_area: sa, names: {de: X}}]\n")
    with pytest.raises(ValueError, match="names"):
        load_registry(path)
