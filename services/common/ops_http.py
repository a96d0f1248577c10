"""/metrics and /healthz of a service, served on its own port inside the service's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class PortInUse(RuntimeError):
    pass


def bind(port: int, host: str = "0.0.0.0") -> socket.socket:
    """Bind early, so a taken port is a clear message instead of a stack trace.

    The socket is made with IPPROTO_TCP, not protocol 0 as `socket.create_server` does:
    asyncio sets TCP_NODELAY only on accepted sockets whose protocol says TCP, and without it
    every answer on a kept-alive connection waited ≈ 40 ms (Nagle against delayed ACKs)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(socket.SOMAXCONN)
        return sock
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} is already in use: stop what runs there or choose "
                "another port (see README, Configuration)"
            ) from None
        raise


def ops_app(health: Callable[[], tuple[bool, dict[str, Any]]]) -> Starlette:
    """`health` says whether the service is healthy (200, else 503) and what to show."""

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    async def healthz(_: Request) -> JSONResponse:
        healthy, body = health()
        return JSONResponse(body, status_code=200 if healthy else 503)

    return Starlette(routes=[Route("/metrics", metrics), Route("/healthz", healthz)])


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """The service owns SIGTERM and SIGINT: it drains its batch before this server stops."""
        yield


async def serve(app: Starlette, sock: socket.socket, stop: asyncio.Event) -> None:
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await stop.wait()
    server.should_exit = True
    await task
