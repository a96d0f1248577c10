"""The gateway on a real port, for a browser: uvicorn in a thread of its own, with its own event
loop and database engine, and no Kafka producer."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.registry import load_registry
from services.common.settings import Settings
from services.gateway.app import create_app
from services.gateway.context import GatewayContext


class LiveGateway:
    """`url` serves the gateway until `stop()`; a stopped gateway refuses connections."""

    def __init__(self, database_url: str, registry: Path, settings: Settings | None = None):
        self._database_url = database_url
        self._registry = registry
        self._settings = settings or Settings()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server: uvicorn.Server | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="live-gateway", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not (self._server is not None and self._server.started):
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the gateway did not start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not start within {timeout} s")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        self._sock.close()
        if self._thread.is_alive():
            raise RuntimeError("the gateway thread did not stop")

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc

    async def _serve(self) -> None:
        engine = create_async_engine(self._database_url)
        try:
            ctx = GatewayContext(self._settings, load_registry(self._registry), engine, None)
            config = uvicorn.Config(
                create_app(ctx),
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=2,
            )
            self._server = uvicorn.Server(config)
            await self._server.serve(sockets=[self._sock])
        finally:
            await engine.dispose()


@contextmanager
def live_gateway(
    database_url: str, registry: Path, settings: Settings | None = None
) -> Iterator[LiveGateway]:
    gateway = LiveGateway(database_url, registry, settings)
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()
