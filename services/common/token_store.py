"""SQL of API tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.tokens import NewToken


@dataclass(frozen=True, slots=True)
class StoredToken:
    token_id: str
    name: str
    secret_sha256: str
    scopes: tuple[str, ...]
    units: tuple[str, ...]
    service_areas: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


_COLUMNS = "token_id, name, secret_sha256, scopes, units, service_areas, created_at, revoked_at"


async def create(
    conn: AsyncConnection,
    token: NewToken,
    name: str,
    scopes: Sequence[str],
    units: Sequence[str],
    service_areas: Sequence[str],
) -> None:
    await conn.execute(
        text(
            "INSERT INTO api_tokens (token_id, name, secret_sha256, scopes, units, service_areas) "
            "VALUES (:id, :name, :hash, :scopes, :units, :areas)"
        ),
        {
            "id": token.token_id,
            "name": name,
            "hash": token.secret_sha256,
            "scopes": list(scopes),
            "units": list(units),
            "areas": list(service_areas),
        },
    )


async def find(conn: AsyncConnection, token_id: str) -> StoredToken | None:
    row = (
        await conn.execute(
            text(f"SELECT {_COLUMNS} FROM api_tokens WHERE token_id = :id"), {"id": token_id}
        )
    ).one_or_none()
    return None if row is None else _stored(row)


async def list_all(conn: AsyncConnection) -> list[StoredToken]:
    rows = await conn.execute(text(f"SELECT {_COLUMNS} FROM api_tokens ORDER BY created_at"))
    return [_stored(row) for row in rows]


async def revoke(conn: AsyncConnection, token_id: str) -> bool:
    """Whether a token that was not yet revoked is revoked now."""
    result = await conn.execute(
        text(
            "UPDATE api_tokens SET revoked_at = now() "
            "WHERE token_id = :id AND revoked_at IS NULL RETURNING token_id"
        ),
        {"id": token_id},
    )
    return result.one_or_none() is not None


async def revoke_named(conn: AsyncConnection, name: str) -> int:
    """Revoke every token of this name not yet revoked; returns how many."""
    result = await conn.execute(
        text("UPDATE api_tokens SET revoked_at = now() WHERE name = :name AND revoked_at IS NULL"),
        {"name": name},
    )
    return int(result.rowcount or 0)


async def live_named(conn: AsyncConnection, name: str) -> list[str]:
    """The ids of the tokens of this name not revoked, oldest first."""
    rows = await conn.execute(
        text(
            "SELECT token_id FROM api_tokens WHERE name = :name AND revoked_at IS NULL "
            "ORDER BY created_at"
        ),
        {"name": name},
    )
    return [row.token_id for row in rows]


def _stored(row: Row[Any]) -> StoredToken:
    return StoredToken(
        row.token_id,
        row.name,
        row.secret_sha256,
        tuple(row.scopes),
        tuple(row.units),
        tuple(row.service_areas),
        row.created_at,
        row.revoked_at,
    )
