"""Every error is JSON `{"error": code, "detail": ...}` with the right status (docs/api.md)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from services.common.i18n import N_, Translator, translator
from services.gateway.language import language_of

log = logging.getLogger(__name__)
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    502: "upstream_error",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    """Every error answer: a code and what was wrong (a text, or a list of problems)."""

    error: str
    detail: Any


# Documented on every operation, instead of FastAPI's default validation-error schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": code.replace("_", " ")}
    for status, code in _CODES.items()
}


# The problems of request validation in our words, by pydantic's error type (its context fills
# the placeholders); other types keep pydantic's English message.
PROBLEMS = {
    "missing": N_("required"),
    "string_pattern_mismatch": N_("does not match {pattern}"),
    "literal_error": N_("must be one of {expected}"),
    "enum": N_("must be one of {expected}"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "bool_parsing": N_("must be true or false"),
    "date_parsing": N_("must be a date, YYYY-MM-DD"),
    "date_from_datetime_parsing": N_("must be a date, YYYY-MM-DD"),
    "datetime_parsing": N_("must be a time, RFC 3339"),
    "datetime_from_date_parsing": N_("must be a time, RFC 3339"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than_equal": N_("must be at most {le}"),
    "greater_than": N_("must be more than {gt}"),
    "string_too_long": N_("must be at most {max_length} characters"),
    "string_too_short": N_("must be at least {min_length} characters"),
}


class ApiError(HTTPException):
    """An error with its own code and a text marked for translation, its placeholders filled
    with `values`: `raise ApiError(404, "unknown_queue", N_("no queue {queue}"), queue=q)`."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: Any,
        headers: dict[str, str] | None = None,
        **values: object,
    ) -> None:
        super().__init__(status, detail, headers)
        self.code = code
        self.values = values


def translated(t: Translator, detail: Any, values: dict[str, object]) -> Any:
    """A detail in the reader's language: a text, or the `problem` texts of a list of them."""
    if isinstance(detail, str):
        return t(detail, **values)
    if isinstance(detail, list):
        return [translated(t, item, {}) for item in detail]
    if isinstance(detail, dict) and isinstance(detail.get("problem"), str):
        return {**detail, "problem": t(detail["problem"])}
    return detail


def problem(t: Translator, error: Mapping[str, Any]) -> str:
    template = PROBLEMS.get(error["type"])
    if template is None:
        return str(error["msg"])
    context = dict(error.get("ctx", {}))
    if "expected" in context:  # "'day', 'month' or 'total'": the values, without the "or"
        context["expected"] = ", ".join(re.findall(r"'[^']*'", str(context["expected"])))
    try:
        return t(template, **context)
    except (KeyError, IndexError, ValueError):  # a context other than the one expected
        return str(error["msg"])


def install(app: FastAPI) -> None:
    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = getattr(exc, "code", None) or _CODES.get(exc.status_code, "error")
        t = translator(language_of(request))
        detail = translated(t, exc.detail, getattr(exc, "values", {}))
        return JSONResponse({"error": code, "detail": detail}, exc.status_code, headers=exc.headers)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        t = translator(language_of(request))
        detail = [
            {"where": ".".join(str(p) for p in e["loc"]), "problem": problem(t, e)}
            for e in exc.errors()
        ]
        return JSONResponse({"error": "invalid_request", "detail": detail}, 422)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        t = translator(language_of(request))
        detail = t("the gateway failed; see its log")
        return JSONResponse({"error": "internal", "detail": detail}, 500)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, unexpected)
