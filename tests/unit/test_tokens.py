"""API tokens: format, hashing, and what a limited token may see."""

from __future__ import annotations

import hashlib

from services.common.tokens import Principal, matches, new_token, parse


def test_a_new_token_parses_back_and_only_its_hash_is_kept() -> None:
    token = new_token()
    parsed = parse(token.token)
    assert parsed is not None
    token_id, secret = parsed
    assert token_id == token.token_id
    assert token.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in token.secret_sha256
    assert matches(secret, token.secret_sha256)
    assert not matches(secret + "x", token.secret_sha256)
    assert new_token().token != token.token


def test_malformed_tokens_do_not_parse() -> None:
    good = new_token().token
    for bad in (
        "",
        "kanava_",
        good[:-1],
        good + "x",
        good.replace("kanava_", "kanava-"),
        " " + good,
    ):
        assert parse(bad) is None, bad


def test_a_limited_token_sees_its_units_and_service_areas_only() -> None:
    limited = Principal("t", "n", frozenset({"read"}), frozenset({"u1"}), frozenset({"sa2"}))
    assert limited.sees("u1", "sa1")
    assert limited.sees("u9", "sa2")
    assert not limited.sees("u2", "sa1")
    assert not limited.sees(None, None)
    everything = Principal("t", "n", frozenset({"read"}), frozenset(), frozenset())
    assert everything.sees("u2", None)
