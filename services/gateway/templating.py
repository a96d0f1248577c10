"""Jinja2 environments whose templates speak the reader's language: `_()` and `{% trans %}`
in them are gettext of the catalogues (services/common/i18n.py)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from services.common.i18n import Language, translator


def environment(folder: Path, language: Language) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    t = translator(language)
    env.install_gettext_translations(t.translations, newstyle=True)  # type: ignore[attr-defined]
    env.filters["month"] = t.month
    # A text marked N_() in the code: translated as it is (`_()` would %-format it).
    env.filters["translated"] = t
    return env
