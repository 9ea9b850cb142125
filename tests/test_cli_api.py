"""`hisaab api --workers N`: the listening socket the forked API processes share."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
import typer
import uvicorn

from hisaab import cli


def test_connections_accepted_by_the_api_processes_send_without_delay() -> None:
    """TCP_NODELAY on every accepted connection: a response is written in two parts (headers,
    then body), and without it the second waits for the client's delayed ACK (~40 ms)."""
    listener = cli._tcp_listener("127.0.0.1", 0)
    assert listener.proto == socket.IPPROTO_TCP
    port = listener.getsockname()[1]

    async def accept_one() -> int:
        nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def on_connect(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            nodelay.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listener)
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                return await asyncio.wait_for(nodelay, 10)
            finally:
                writer.close()
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(accept_one()) != 0


def test_the_api_processes_each_get_a_share_of_the_connections() -> None:
    """Each process listens on a socket of its own (SO_REUSEPORT) and the kernel spreads the
    connections over them, rather than the first process to wake taking a whole burst."""
    holder = cli._tcp_listener("127.0.0.1", 0, reuse_port=True)
    port = holder.getsockname()[1]
    listeners = [cli._tcp_listener("127.0.0.1", port, reuse_port=True) for _ in range(2)]

    async def connect_many() -> list[int]:
        accepted = [0, 0]

        def counter(index: int) -> Any:
            async def on_connect(
                _reader: asyncio.StreamReader, writer: asyncio.StreamWriter
            ) -> None:
                accepted[index] += 1
                writer.close()

            return on_connect

        servers = [
            await asyncio.start_server(counter(i), sock=sock) for i, sock in enumerate(listeners)
        ]
        try:
            writers = []
            for _ in range(32):
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writers.append(writer)
            for _ in range(100):
                if sum(accepted) == 32:
                    break
                await asyncio.sleep(0.02)
            for writer in writers:
                writer.close()
        finally:
            for server in servers:
                server.close()
                await server.wait_closed()
        return accepted

    try:
        accepted = asyncio.run(connect_many())
    finally:
        holder.close()
    assert sum(accepted) == 32
    assert min(accepted) > 0  # all 32 to one socket by chance: 2 in 2**32


def test_a_port_in_use_is_a_clear_error() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        with pytest.raises(typer.Exit):
            cli._tcp_listener("127.0.0.1", taken.getsockname()[1], reuse_port=True)
    finally:
        taken.close()


def test_the_api_runs_on_uvloop_and_parses_http_with_httptools() -> None:
    """The C event loop and HTTP parser: asyncio's loop and h11 cost a good part of the CPU of
    each request."""
    loops: list[str] = []

    async def main() -> None:
        loops.append(type(asyncio.get_running_loop()).__module__)

    cli._run(main())
    assert loops == ["uvloop"]
    assert cli._http_protocol() == "httptools"

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        pass

    config = uvicorn.Config(app, http=cli._http_protocol(), lifespan="off", log_config=None)
    config.load()
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
