"""API tokens: `kanava_<id>_<secret>`. The id finds the stored row; only the SHA-256 of the
secret is stored (the secret is 32 random bytes, so a plain hash is enough: nothing to guess).

A token carries scopes (`read`, `ingest`, `admin`) and may be limited to units and service
areas; a limited token sees the listed units and every unit of the listed service areas.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal

Scope = Literal["read", "ingest", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "ingest", "admin")
_FORMAT = re.compile(r"kanava_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True, slots=True)
class NewToken:
    token_id: str
    secret_sha256: str
    token: str  # shown once, never stored


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the token's name, scopes and limits."""

    token_id: str
    name: str
    scopes: frozenset[str]
    units: frozenset[str]  # empty: no unit limit
    service_areas: frozenset[str]  # empty: no service-area limit

    @property
    def limited(self) -> bool:
        return bool(self.units or self.service_areas)

    def sees(self, unit_id: str | None, service_area: str | None) -> bool:
        """Whether a row of this unit / service area may be shown."""
        if not self.limited:
            return True
        return unit_id in self.units or service_area in self.service_areas


def new_token() -> NewToken:
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewToken(token_id, sha256(secret), f"kanava_{token_id}_{secret}")


def parse(token: str) -> tuple[str, str] | None:
    """(token id, secret) of a well-formed token, else None."""
    match = _FORMAT.fullmatch(token)
    return (match.group(1), match.group(2)) if match else None


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_sha256: str) -> bool:
    return hmac.compare_digest(sha256(secret), stored_sha256)
