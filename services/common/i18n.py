"""The reader's language: gettext catalogues (services/common/locales/<lang>/LC_MESSAGES/
kanava.po, kept with Babel: docs/languages.md) and each locale's number and date formats.

Texts are written in English in the code, marked `t("…")` (a Translator) where the reader's
language is known, or `N_("…")` where a constant is translated later. A text missing from a
catalogue falls back to the English, and the catalogue test fails on it."""

from __future__ import annotations

import io
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

Language = Literal["fi", "sv", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DOMAIN = "kanava"
LOCALES = Path(__file__).resolve().parent / "locales"
DASH = "\u2013"  # a figure that is not there


def N_(message: str) -> str:  # noqa: N802  (gettext's name: mark now, translate later)
    return message


def catalogue_path(language: Language) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


class Translator:
    """The texts and formats of one language."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self.locale = Locale.parse(language)
        self.translations = _translations(language)
        percent = self.locale.percent_formats[None].pattern
        self._percent = percent.replace("#,##0", "#,##0.0")  # one decimal: "68,0 %"

    def __call__(self, message: str, **values: object) -> str:
        """The message in this language, its `{placeholders}` filled."""
        text: str = self.translations.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, **values: object) -> str:
        text: str = self.translations.ngettext(singular, plural, n)
        return text.format(n=n, **values)

    def percent(self, ratio: float | None) -> str:
        return DASH if ratio is None else format_percent(ratio, self._percent, self.locale)

    def whole_percent(self, ratio: float) -> str:
        return format_percent(ratio, locale=self.locale)

    def integer(self, value: int | None) -> str:
        return DASH if value is None else format_decimal(value, "#,##0", self.locale)

    def decimal(self, value: float | None, digits: int = 1) -> str:
        pattern = "0." + "0" * digits if digits else "0"
        return DASH if value is None else format_decimal(value, pattern, self.locale)

    def day(self, value: date) -> str:
        """3.12.2026, 3 dec. 2026, Dec 3, 2026."""
        return format_date(value, "medium", self.locale)

    def month(self, label: str) -> str:
        """`2026-12` → joulukuu 2026, december 2026, December 2026."""
        return format_date(_first_day(label), "LLLL yyyy", self.locale)

    def short_month(self, label: str) -> str:
        return format_date(_first_day(label), "LLL yyyy", self.locale)


def _first_day(label: str) -> date:
    year, month = label.split("-")
    return date(int(year), int(month), 1)


@lru_cache(maxsize=len(LANGUAGES))
def translator(language: Language) -> Translator:
    return Translator(language)


def _translations(language: Language) -> Translations:
    """The .po catalogue compiled in memory: nothing to build or ship beside the source."""
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def negotiate(asked: str | None, accept_language: str | None, default: Language) -> Language:
    """`?lang=` when it names a language of ours, then the best of Accept-Language, then the
    deployment's default."""
    if asked in LANGUAGES:
        return asked
    for tag in preferred(accept_language or ""):
        primary = tag.split("-")[0].lower()
        for language in LANGUAGES:
            if primary == language:
                return language
    return default


def preferred(header: str) -> list[str]:
    """The tags of an Accept-Language header, most wanted first (q=0: not wanted)."""
    weighted: list[tuple[float, int, str]] = []
    for order, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = _quality(params)
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, order, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0
