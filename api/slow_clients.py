"""Slow clients (slowloris): uvicorn times out idle keep-alive connections but not a request whose headers arrive
one byte at a time, and every such connection counts against --limit-concurrency. The HTTP protocol here gives
each request KARNGAR_HEADER_TIMEOUT seconds and KARNGAR_MAX_HEADER_BYTES bytes to finish its headers; the
middleware gives its body KARNGAR_BODY_TIMEOUT seconds. `karngar serve` runs uvicorn with both."""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from api.settings import Settings

_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_HEADERS_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


@cache
def _settings() -> Settings:
    return Settings.from_env()  # in each uvicorn worker, from the environment `karngar serve` set


class SlowClientProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol (httptools when installed, else h11) with a deadline and a size cap on the
    request line and headers, armed when a connection opens and again whenever it waits for its next request."""

    header_timeout: float | None = None
    max_header_bytes: int | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._wait_for_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Still no new request after these bytes: they were all request line and headers.
        if self._waiting_for_headers() and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > (self.max_header_bytes or _settings().max_header_bytes):
                self._refuse(_HEADERS_TOO_LARGE)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._wait_for_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
        super().connection_lost(exc)

    def _wait_for_headers(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
        self._previous_cycle = self.cycle
        self._header_bytes = 0
        timeout = self.header_timeout or _settings().header_timeout_seconds
        self._header_deadline = self.loop.call_later(timeout, self._headers_overdue)

    def _waiting_for_headers(self) -> bool:
        """No request has begun since we started waiting (a pipelined one in progress counts as begun)."""
        return self.cycle is self._previous_cycle and (self.cycle is None or self.cycle.response_complete)

    def _headers_overdue(self) -> None:
        self._header_deadline = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            self._refuse(_REQUEST_TIMEOUT)

    def _refuse(self, response: bytes) -> None:
        self.transport.write(response)
        self.transport.close()


class BodyTimeout(Exception):
    """The request body did not arrive within KARNGAR_BODY_TIMEOUT seconds."""


class BodyTimeoutMiddleware:
    """Answers 408 and closes the connection when a request's body takes longer than the timeout to arrive; once
    the body is complete, `receive` (which then only reports a disconnect) is left alone."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.timeout = settings.body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout
        body_complete = False
        response_started = False

        async def receive_in_time() -> Message:
            nonlocal body_complete
            if body_complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout from None
            body_complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def send_tracked(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_in_time, send_tracked)
        except BodyTimeout:
            if response_started:
                raise
            body = {
                "errors": [{"message": "The request body was too slow to arrive.", "extensions": {"code": "TIMEOUT"}}]
            }
            await JSONResponse(body, status_code=408, headers={"Connection": "close"})(scope, receive, send)
