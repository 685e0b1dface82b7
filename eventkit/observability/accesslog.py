"""One structured line per HTTP request (`http request`): method, route, path, status, duration, and the order
it concerns, inside the request's server span so the line carries its `trace_id` (logs.add_trace_context).

The order is the route's `{order_id}`, or, for a POST that creates one, the order its `Location` header names.
Probes and /metrics are left out, as in the metrics: a kubelet probing every few seconds would bury the rest.
"""

from __future__ import annotations

import time
from uuid import UUID

import structlog

from eventkit.observability.metrics import UNOBSERVED_PATHS, ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("eventkit.http")


def order_of(path_params: dict[str, object], location: str | None) -> str | None:
    """The order a request is about: its `order_id` path parameter, else the last segment of `Location`."""
    found = path_params.get("order_id")
    if found is not None:
        return str(found)
    if location:
        candidate = location.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        try:
            return str(UUID(candidate))
        except ValueError:
            return None
    return None


class AccessLog:
    """ASGI middleware, added inside the tracing middleware (so the server span is current when it logs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNOBSERVED_PATHS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering
        location: str | None = None

        async def send_and_note(message: Message) -> None:
            nonlocal status, location
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"location":
                        location = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            fields: dict[str, object] = {
                "method": scope["method"],
                "route": getattr(scope.get("route"), "path", None),
                "path": scope["path"],
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            order_id = order_of(scope.get("path_params") or {}, location)
            if order_id is not None:
                fields["order_id"] = order_id
            log.info("http request", **fields)
