"""The services' HTTP listening socket: a taken port is a clear error, and every accepted
connection gets TCP_NODELAY from asyncio (without it each answer on a kept-alive connection
waited for the client's delayed ACK, ≈ 40 ms)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from services.common.ops_http import PortInUse, bind


async def test_accepted_connections_have_tcp_nodelay() -> None:
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    listening = bind(0, "127.0.0.1")
    server = await loop.create_server(Probe, sock=listening)
    port = listening.getsockname()[1]
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(accepted, 5) == 1
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


def test_a_taken_port_is_a_clear_error() -> None:
    first = bind(0, "127.0.0.1")
    try:
        with pytest.raises(PortInUse, match=r"port \d+ is already in use"):
            bind(first.getsockname()[1], "127.0.0.1")
    finally:
        first.close()
