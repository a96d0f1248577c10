"""The reader's language of a request: `?lang=fi|sv|en`, then Accept-Language, then the
deployment's KANAVA_LANGUAGE (docs/api.md, "Languages")."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from services.common.i18n import Language, negotiate
from services.gateway.context import Context


def asked_language(
    request: Request,
    ctx: Context,
    lang: Annotated[
        Language | None,
        Query(description="the language of the texts (fi, sv, en); else Accept-Language"),
    ] = None,
) -> Language:
    """Every operation's `lang`; kept on the request for its error texts."""
    chosen = negotiate(lang, request.headers.get("accept-language"), ctx.settings.language)
    request.state.language = chosen
    return chosen


ReaderLanguage = Annotated[Language, Depends(asked_language)]


def language_of(request: Request) -> Language:
    """The request's language, also for an error raised before its operation ran (an unknown
    path, a bad `lang`): then an unknown `lang` counts as not given."""
    chosen: Language | None = getattr(request.state, "language", None)
    if chosen is None:
        default = request.app.state.context.settings.language
        asked = request.query_params.get("lang")
        chosen = negotiate(asked, request.headers.get("accept-language"), default)
    return chosen
