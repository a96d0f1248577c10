"""The gateway's JSON decoder: its nesting scan is exact for any JSON, and it refuses exactly
the lone surrogates Python's decoder would let through."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.gateway.body import decode, nesting
from services.gateway.errors import ApiError

# strings full of what the scan must see through: quotes, backslashes, brackets
TRICKY = st.text(st.sampled_from('"\\[]{}u0aé😀\ud800\udc00'), max_size=8)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY, inner, max_size=3),
    max_leaves=30,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@given(VALUES, st.booleans())
def test_the_nesting_scan_is_exact(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert nesting(text) == depth(value)


@given(TRICKY)
def test_only_lone_surrogates_are_refused(text: str) -> None:
    body = json.dumps(text).encode()
    lone = any(0xD800 <= ord(c) <= 0xDFFF for c in json.loads(body))
    if lone:
        with pytest.raises(ApiError) as refused:
            decode(body)
        assert (refused.value.status_code, refused.value.code) == (400, "invalid_json")
    else:
        assert decode(body) == json.loads(body)


@pytest.mark.parametrize(
    ("text", "deepest"),
    [
        (b'["]]]", {"a": "[[[\\"[["}]', 2),
        (b'["\\\\", [[]]]', 3),
        (b'"\\\\\\"[[["', 0),
        (b"[" * 65 + b"]" * 65, 65),
    ],
)
def test_brackets_in_strings_do_not_count(text: bytes, deepest: int) -> None:
    assert nesting(text) == deepest
