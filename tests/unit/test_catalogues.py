"""Every catalogue holds every text the code, the templates and the wallboard's script mark,
translated, with the same placeholders, and nothing else (the extraction of `make messages`)."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Message

from services.common.i18n import LANGUAGES, Language
from services.common.messages import extracted, stored, texts

PLACEHOLDER = re.compile(r"\{[^}]*\}|%\([a-z_]+\)s")
MARKED = {message.id for message in extracted() if message.id}


def ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (tuple, list)) else (message.id,)


def test_the_code_marks_the_texts_of_each_part() -> None:
    """The extraction finds the report's, the templates', the script's and the errors' texts."""
    for text in (
        "Monthly report {month}",  # reports/service.py, t()
        "Chat",  # render_html.py, N_()
        "Definitions and configuration",  # a template's _()
        "Needed / on duty",  # the wallboard's template
        "Cannot reach the server",  # the wallboard's script, tr()
        "a range is at most {days} days",  # an error detail
        ("Drop signalled on {n} day", "Drop signalled on {n} days"),  # t.plural()
    ):
        assert text in MARKED, text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_catalogue_has_every_text_translated(language: Language) -> None:
    catalogue = stored(language)
    held = {message.id: message for message in catalogue if message.id}
    assert sorted(map(str, MARKED - set(held))) == []  # run `make messages`, then translate
    assert sorted(map(str, set(held) - MARKED)) == []  # texts no longer used
    untranslated = [m.id for m in held.values() if not all(texts(m))]
    assert untranslated == []
    assert [m.id for m in held.values() if m.fuzzy] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language: Language) -> None:
    for message in stored(language):
        if not message.id:
            continue
        wanted = sorted(PLACEHOLDER.findall(ids(message)[-1]))
        for text in texts(message):
            assert sorted(PLACEHOLDER.findall(text)) == wanted, (message.id, text)
