"""The catalogues' upkeep: `python -m services.common.messages` (make messages) extracts every
text marked in the code, templates and the wallboard's script with Babel, and brings each
language's catalogue up to date: new texts come in untranslated, texts no longer used go.
The English catalogue is filled with the English itself. tests/unit/test_catalogues.py
checks with the same extraction that every catalogue is complete."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from services.common.i18n import DOMAIN, LANGUAGES, Language, catalogue_path

SOURCES = Path(__file__).resolve().parents[1]  # services/
METHODS = [
    ("**/templates/**.j2", "jinja2"),
    ("**/templates/*.css", "jinja2"),  # included by a template: the PDF's page footer
    ("**/wallboard/*.html.j2", "jinja2"),
    ("**/wallboard/*.js", "javascript"),
    ("**.py", "python"),
]
# t(…) and self.t(…): a Translator; t.plural(…); N_(…): marked for later; tr(…): the script's;
# _(…) and {% trans %} (gettext): the templates'.
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "gettext": None,
    "t": (1,),
    "N_": None,
    "tr": (1,),
    "plural": (1, 2),
}
I18N = {"extensions": "jinja2.ext.i18n"}  # {% trans %} blocks
OPTIONS = {"**/templates/**.j2": I18N, "**/wallboard/*.html.j2": I18N, "**/templates/*.css": I18N}


def extracted() -> Catalog:
    """Every text marked in services/, with where it is used."""
    catalogue = Catalog(domain=DOMAIN, project="Kanava")
    found = extract_from_dir(SOURCES, METHODS, OPTIONS, KEYWORDS, strip_comment_tags=True)
    for filename, lineno, message, comments, context in found:
        catalogue.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalogue


def stored(language: Language) -> Catalog:
    with catalogue_path(language).open("rb") as po:
        return read_po(po, locale=language, domain=DOMAIN)


def updated(language: Language, template: Catalog) -> Catalog:
    """The language's catalogue with exactly the template's texts, translations kept."""
    path = catalogue_path(language)
    catalogue = stored(language) if path.exists() else Catalog(locale=language, domain=DOMAIN)
    created = catalogue.creation_date
    catalogue.update(template, no_fuzzy_matching=True)
    catalogue.creation_date = created  # update takes the extraction's: a diff on every run
    catalogue.obsolete.clear()
    for message in catalogue:
        # Babel takes "95 % interval" for a %-format; our texts use {names} and %(names)s only
        message.flags.discard("python-format")
    catalogue.fuzzy = False  # the header: the texts are checked by tests/unit/test_catalogues.py
    if language == "en":
        for message in catalogue:
            if message.id and not all(texts(message)):
                message.string = message.id  # a plural's (singular, plural) too
    return catalogue


def texts(message: Message) -> tuple[str, ...]:
    """A message's translation, or a plural's translations."""
    string = message.string
    if isinstance(string, (tuple, list)):
        return tuple(string)
    return (string or "",)


def write(language: Language, catalogue: Catalog) -> None:
    path = catalogue_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po:
        write_po(po, catalogue, width=100, include_previous=False, include_lineno=False)
    missing = sum(1 for m in catalogue if m.id and not all(texts(m)))
    print(f"{path.relative_to(SOURCES.parent)}: {len(catalogue)} texts, {missing} to translate")


def main(languages: list[Language] | None = None) -> int:
    template = extracted()
    for language in languages or LANGUAGES:
        write(language, updated(language, template))
    return 0


if __name__ == "__main__":
    sys.exit(main())
