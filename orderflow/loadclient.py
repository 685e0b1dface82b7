"""A minimal HTTP/1.1 client for the load generator: one keep-alive connection, one request at a time.

The load generator must cost far less CPU than the service it measures, or it measures itself: httpx spends
about a millisecond of Python per request (its pool, its models, its hooks), which at a few hundred orders per
second is a core of its own. This client writes the request line and headers itself and parses the answer
with httptools (the C parser uvicorn uses), tens of microseconds per request. It speaks exactly what the
orders API needs: JSON bodies, Content-Length or chunked answers, keep-alive, reconnection after a close.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

# A SYN to a pod that vanished with its node gets no answer, and the kernel would keep trying for two minutes.
CONNECT_TIMEOUT_SECONDS = 5.0


class HttpError(Exception):
    """The connection failed or closed before a full answer arrived."""


class NoAnswer(HttpError):
    """The request was sent and no answer came within its timeout (the connection is closed)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.answer: asyncio.Future[Answer] | None = None
        self.body: list[bytes] = []
        self.status = 0
        self.closed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(HttpError(f"unparseable answer: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(HttpError(f"connection closed: {exc!r}"))

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(Answer(self.status, b"".join(self.body)))
        self.body = []
        if not self.parser.should_keep_alive() and self.transport is not None:
            self.transport.close()

    def _fail(self, error: HttpError) -> None:
        self.closed = True
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(error)


class Connection:
    """One keep-alive connection to `base_url`, reopened when the server closed it."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"{base_url}: the load client speaks plain http:// only")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._authority = f"{self._host}:{self._port}".encode()
        self._protocol: _Protocol | None = None

    async def request(
        self,
        method: str,
        target: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Answer:
        """Send one request (`body` as JSON) and return the whole answer; HttpError if the connection fails."""
        protocol = await self._open()
        payload = b"" if body is None else json.dumps(body).encode()
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (method.encode(), target.encode(), self._authority)
        for name, value in (headers or {}).items():
            head += b"%s: %s\r\n" % (name.encode(), value.encode())
        if body is not None:
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(payload)
        protocol.answer = asyncio.get_running_loop().create_future()
        assert protocol.transport is not None
        protocol.transport.write(head + b"\r\n" + payload)
        try:
            return await asyncio.wait_for(protocol.answer, timeout)
        except TimeoutError:
            self.close()
            raise NoAnswer(f"no answer within {timeout:.0f}s") from None
        finally:
            protocol.answer = None

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None

    async def _open(self) -> _Protocol:
        if self._protocol is not None and not self._protocol.closed:
            return self._protocol
        connect = asyncio.get_running_loop().create_connection(_Protocol, self._host, self._port)
        try:
            _, protocol = await asyncio.wait_for(connect, CONNECT_TIMEOUT_SECONDS)
        except TimeoutError:
            raise HttpError(
                f"cannot connect to {self._host}:{self._port} within {CONNECT_TIMEOUT_SECONDS:.0f}s"
            ) from None
        except OSError as error:
            raise HttpError(f"cannot connect to {self._host}:{self._port}: {error}") from error
        self._protocol = protocol
        return protocol
