"""FastAPI dependencies: who is asking (the bearer token), and may they."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common import token_store
from services.common.i18n import N_
from services.common.token_store import StoredToken
from services.common.tokens import Principal, Scope, matches, parse
from services.gateway.context import Context, GatewayContext
from services.gateway.errors import ApiError

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# auto_error=False: a missing or malformed header gets the gateway's own 401 body, not FastAPI's
_bearer = HTTPBearer(
    bearerFormat="kanava_<id>_<secret>",
    description="A token of `kanava token create`.",
    auto_error=False,
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def requires(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    async def principal(ctx: Context, credentials: Credentials) -> Principal:
        stored = await _stored_token(ctx, credentials)
        if scope not in stored.scopes and "admin" not in stored.scopes:
            raise ApiError(403, "forbidden", N_("this token lacks the scope {scope}"), scope=scope)
        areas = frozenset(stored.service_areas)
        units = frozenset(stored.units) | {
            u.id for u in ctx.registry.units if u.service_area in areas
        }
        return Principal(stored.token_id, stored.name, frozenset(stored.scopes), units, areas)

    return principal


async def _stored_token(
    ctx: GatewayContext, credentials: HTTPAuthorizationCredentials | None
) -> StoredToken:
    """The live token the request carries, else 401."""
    parsed = parse(credentials.credentials) if credentials else None
    if parsed is None:
        raise ApiError(401, "unauthorized", N_("send Authorization: Bearer <token>"), _CHALLENGE)
    token_id, secret = parsed
    async with ctx.engine.connect() as conn:
        stored = await token_store.find(conn, token_id)
    if stored is None or stored.revoked_at is not None or not matches(secret, stored.secret_sha256):
        raise ApiError(401, "unauthorized", N_("unknown or revoked token"), _CHALLENGE)
    return stored


Reader = Annotated[Principal, Depends(requires("read"))]
Ingester = Annotated[Principal, Depends(requires("ingest"))]
