"""Request bodies: read within a size limit, decoded as strict JSON.

Every JSON body goes through `decode`: the ingest endpoints and the SMS webhook call it on the
bytes they read, and FastAPI reaches it for a request model through `JsonRequest` (routers
with such operations use `route_class=JsonRoute`). It takes UTF-8 JSON only, with arrays and
objects nested at most `MAX_DEPTH` levels, finite numbers of at most `MAX_NUMBER_CHARS`
characters, no NaN or Infinity and no lone UTF-16 surrogate; anything else is answered 400
`invalid_json`, as a body that is not JSON at all. A body over its limit is answered 413
`too_large`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from itertools import accumulate
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from services.common.i18n import N_
from services.gateway.errors import ApiError

MAX_DEPTH = 64
MAX_NUMBER_CHARS = 100
SMALL_BODY_BYTES = 64 << 10

_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}')
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")
_STEP = {ord("["): 1, ord("]"): -1}
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE_PAIR = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too_large", N_("a request body is at most {limit} bytes"), limit=limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(
                413, "too_large", N_("a request body is at most {limit} bytes"), limit=limit
            )
    return bytes(body)


def nesting(text: bytes) -> int:
    """How many arrays and objects are open at the deepest point of JSON `text`, in linear
    bytes operations: escaped backslashes and quotes dropped, then strings, then the
    brackets counted. Exact for JSON; for other text the decoder finds the error."""
    unescaped = text.replace(b"\\\\", b"").replace(b'\\"', b"")
    # "" is an empty string or the gap between two strings: dropping it moves no bracket
    structure = unescaped.translate(_BRACES_AS_BRACKETS, _NOT_STRUCTURE).replace(b'""', b"")
    outside_strings = b"".join(structure.split(b'"')[::2])
    return max(accumulate(map(_STEP.__getitem__, outside_strings)), default=0)


def decode(body: bytes) -> Any:
    """The JSON value of `body`, or ApiError 400 `invalid_json`."""
    if nesting(body) > MAX_DEPTH:
        raise _invalid(f"arrays and objects nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(
            body.decode(), parse_constant=_constant, parse_float=_float, parse_int=_int
        )
    except (ValueError, RecursionError) as exc:
        raise _invalid(f"the body is not JSON: {exc}") from None
    if _SURROGATE.search(body) and _has_lone_surrogate(body):
        raise _invalid("a string holds a lone UTF-16 surrogate")
    return value


def _invalid(detail: str) -> ApiError:
    return ApiError(400, "invalid_json", detail)


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _too_long(text)
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _too_long(text)
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text} is out of range")
    return number


def _too_long(number: str) -> ValueError:
    return ValueError(f"a number of {len(number)} characters; at most {MAX_NUMBER_CHARS}")


def _has_lone_surrogate(text: bytes) -> bool:
    """Whether JSON `text` escapes a surrogate that is not half of a pair: escaped
    backslashes blanked out, every pair dropped, then any surrogate left."""
    escapes = _SURROGATE_PAIR.sub(b"", text.replace(b"\\\\", b"__"))
    return _SURROGATE.search(escapes) is not None


class JsonRequest(Request):
    """A request whose body FastAPI reads: at most SMALL_BODY_BYTES, decoded by `decode`."""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            self._body = await read_body(self, SMALL_BODY_BYTES)
        return self._body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = decode(await self.body())
        return self._json


class JsonRoute(APIRoute):
    """A route whose request model FastAPI reads from a `JsonRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handle(JsonRequest(request.scope, request.receive))

        return strict
