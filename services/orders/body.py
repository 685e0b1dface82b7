"""Request bodies: bounded in size before anything parses them, and JSON numbers read as exact decimals."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.types import Message

MAX_BODY_BYTES = 64 * 1024


def parse_json(body: bytes) -> Any:
    # parse_float=Decimal keeps "19.99" exactly as sent; the default float would already have rounded it.
    return json.loads(body, parse_float=Decimal)


class DecimalJSONRequest(Request):
    async def json(self) -> Any:
        return parse_json(await self.body())


class BoundedJSONRoute(APIRoute):
    """Answers 413 once a body exceeds `max_body_bytes`, whether declared by Content-Length or streamed."""

    max_body_bytes: ClassVar[int] = MAX_BODY_BYTES

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                return _too_large(self.max_body_bytes)
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > self.max_body_bytes:
                    return _too_large(self.max_body_bytes)
            return await handler(DecimalJSONRequest(request.scope, _replay(bytes(body), request)))

        return bounded


def _too_large(cap: int) -> Response:
    return JSONResponse({"detail": f"request body exceeds {cap} bytes"}, status_code=413)


def _replay(body: bytes, request: Request) -> Callable[[], Coroutine[Any, Any, Message]]:
    """A `receive` that hands out the body already read, then defers to the server (e.g. disconnects)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return pending.pop() if pending else await request.receive()

    return receive
