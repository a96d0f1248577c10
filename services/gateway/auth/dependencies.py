"""FastAPI dependencies: who is asking, and may they."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from services.common import token_store
from services.common.tokens import Principal, Scope, matches, parse
from services.gateway.context import GatewayContext, context
from services.gateway.errors import ApiError

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def requires(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    async def principal(
        request: Request, ctx: Annotated[GatewayContext, Depends(context)]
    ) -> Principal:
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        parsed = parse(token.strip()) if kind.lower() == "bearer" else None
        if parsed is None:
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>", _CHALLENGE)
        token_id, secret = parsed
        async with ctx.engine.connect() as conn:
            stored = await token_store.find(conn, token_id)
        if (
            stored is None
            or stored.revoked_at is not None
            or not matches(secret, stored.secret_sha256)
        ):
            raise ApiError(401, "unauthorized", "unknown or revoked token", _CHALLENGE)
        if scope not in stored.scopes and "admin" not in stored.scopes:
            raise ApiError(403, "forbidden", f"this token lacks the scope {scope!r}")
        areas = frozenset(stored.service_areas)
        units = frozenset(stored.units) | {
            u.id for u in ctx.registry.units if u.service_area in areas
        }
        return Principal(stored.token_id, stored.name, frozenset(stored.scopes), units, areas)

    return principal


Reader = Annotated[Principal, Depends(requires("read"))]
Ingester = Annotated[Principal, Depends(requires("ingest"))]
