"""Slow clients against a real uvicorn server on a loopback port: headers that never finish are cut off at the
deadline, oversized headers are refused, a body that trickles in gets 408, and normal requests go on meanwhile."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import uvicorn
from starlette.types import Receive, Scope, Send

from api.settings import Settings
from api.slow_clients import BodyTimeoutMiddleware, SlowClientProtocol


class QuickDeadlines(SlowClientProtocol):
    header_timeout = 0.5
    max_header_bytes = 2_000


async def echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body and answers its length."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = BodyTimeoutMiddleware(echo_length, replace(settings, body_timeout_seconds=0.5))
    config = uvicorn.Config(app, port=port, http=QuickDeadlines, lifespan="off", log_level="critical")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seconds: float = 3) -> bytes:
    """Send a byte every 50 ms, as a slowloris client does, until the server answers or hangs up."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        try:
            writer.write(b"x")
            return await asyncio.wait_for(reader.read(), 0.05)
        except TimeoutError:
            continue
        except ConnectionError:
            break
    return await asyncio.wait_for(reader.read(), 1)


async def request(port: int, body: bytes = b"") -> bytes:
    reader, writer = await connect(port)
    writer.write(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body)
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer


async def test_headers_that_never_finish_are_cut_off_while_normal_requests_are_served(settings: Settings) -> None:
    async with serving(settings) as port:
        reader, writer = await connect(port)
        started = time.perf_counter()
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n")
        normal = await request(port, b"hello")
        answer = await trickle(reader, writer)
        cut_off_after = time.perf_counter() - started

    assert normal.startswith(b"HTTP/1.1 200") and normal.endswith(b"5")
    assert answer.startswith(b"HTTP/1.1 408")
    assert 0.4 < cut_off_after < 1.5


async def test_a_keep_alive_connection_gets_the_same_deadline_for_its_next_request(settings: Settings) -> None:
    async with serving(settings) as port:
        reader, writer = await connect(port)
        writer.write(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi")
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        await reader.readexactly(1)  # the body: "2"
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\nx-slow: ")
        rest = await trickle(reader, writer)

    assert first.startswith(b"HTTP/1.1 200")
    assert rest.startswith(b"HTTP/1.1 408")


async def test_oversized_headers_are_refused_but_a_large_body_is_not(settings: Settings) -> None:
    async with serving(settings) as port:
        reader, writer = await connect(port)
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n" + b"x-padding: " + b"a" * 3_000)
        oversized = await asyncio.wait_for(reader.read(), 5)
        large_body = await request(port, b"b" * 200_000)

    assert oversized.startswith(b"HTTP/1.1 431")
    assert large_body.startswith(b"HTTP/1.1 200") and large_body.endswith(b"200000")


async def test_a_body_that_trickles_in_gets_408(settings: Settings) -> None:
    async with serving(settings) as port:
        reader, writer = await connect(port)
        writer.write(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n")
        answer = await trickle(reader, writer)

    assert answer.startswith(b"HTTP/1.1 408")
    assert b"The request body was too slow to arrive." in answer
