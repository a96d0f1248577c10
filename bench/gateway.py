"""The gateway as a benchmark runs it: `python -m services.gateway` in its own process on a
free port against the benchmark's broker and database, and a read token for it."""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.infra import Infra, ServiceProcess
from services.common.tokens import new_token

_INSERT_TOKEN = (
    "INSERT INTO api_tokens (token_id, name, secret_sha256, scopes, units, service_areas) "
    "VALUES ($1, 'bench', $2, $3, '{}', '{}')"
)


class GatewayProcess(ServiceProcess):
    """The gateway process; `url` once started, `base_url` for requests."""

    def __init__(self, infra: Infra) -> None:
        super().__init__(infra, "gateway", "", port_variable="KANAVA_GATEWAY_PORT")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start_ready(self, within: float = 60.0) -> None:
        """Start it and wait until it is ready."""
        self.start()
        await self.ready(within)

    async def ready(self, within: float = 60.0) -> None:
        """Wait until the started gateway's /readyz answers 200."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as client:
            while True:
                self.check_alive()
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the gateway was not ready within {within} s")
                await asyncio.sleep(0.1)


async def read_token(infra: Infra, scopes: tuple[str, ...] = ("read",)) -> str:
    """A new token with `scopes` and no unit limits, stored in the benchmark's database."""
    created = new_token()
    db = await infra.connect()
    try:
        await db.execute(_INSERT_TOKEN, created.token_id, created.secret_sha256, list(scopes))
    finally:
        await db.close()
    return created.token
