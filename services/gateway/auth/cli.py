"""`kanava token create|list|revoke`: API tokens of the gateway, in the database the `kanava`
command gives (the configured one, or the dev stack's)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common import token_store
from services.common.db import create_engine
from services.common.tokens import SCOPES, new_token

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("token", help="create, list or revoke API tokens")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a token and print it (once)")
    create.add_argument("--name", required=True, help="who or what uses it")
    create.add_argument(
        "--scope", action="append", choices=SCOPES, required=True, help="repeat for more"
    )
    create.add_argument("--unit", action="append", default=[], help="limit to a unit (repeat)")
    create.add_argument(
        "--service-area", action="append", default=[], help="limit to a service area (repeat)"
    )
    create.set_defaults(database_handler=create_token)
    listing = actions.add_parser("list", help="list tokens (never their secrets)")
    listing.set_defaults(database_handler=list_tokens)
    revoke = actions.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")
    revoke.set_defaults(database_handler=revoke_token)


def create_token(args: argparse.Namespace, database_url: str) -> int:
    token = new_token()
    scopes = sorted(set(args.scope))

    async def work(conn: AsyncConnection) -> None:
        await token_store.create(conn, token, args.name, scopes, args.unit, args.service_area)

    _run(database_url, work)
    limits = ", ".join([*args.unit, *args.service_area]) or "all units"
    print(f"token {token.token_id} ({args.name}; {', '.join(scopes)}; {limits}):")
    print(token.token)
    print("It is shown only now; only its hash is stored.", file=sys.stderr)
    return 0


def list_tokens(_: argparse.Namespace, database_url: str) -> int:
    for token in _run(database_url, token_store.list_all):
        limits = ", ".join([*token.units, *token.service_areas]) or "all units"
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        print(
            f"{token.token_id}  {token.name}  {','.join(token.scopes)}  {limits}  "
            f"created {token.created_at:%Y-%m-%d %H:%M}  {state}"
        )
    return 0


def revoke_token(args: argparse.Namespace, database_url: str) -> int:
    async def work(conn: AsyncConnection) -> bool:
        return await token_store.revoke(conn, args.token_id)

    if _run(database_url, work):
        print(f"token {args.token_id} revoked")
        return 0
    print(f"kanava token: no active token {args.token_id}", file=sys.stderr)
    return 1


def _run(url: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    return asyncio.run(_in_transaction(url, work))


async def _in_transaction(url: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            return await work(conn)
    finally:
        await engine.dispose()
