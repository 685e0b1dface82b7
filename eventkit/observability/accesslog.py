"""One structured line per HTTP request (`http request`): method, route, path, status, duration, and the order
it concerns. `HttpMetrics` logs it (with `access_log`) inside the request's server span, so the line carries
its `trace_id` (logs.add_trace_context); probes and /metrics are left out, as in the metrics.

The order is the route's `{order_id}`, or, for a POST that creates one, the order its `Location` header names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import structlog

log = structlog.get_logger("eventkit.http")


def order_of(path_params: Mapping[str, object], location: str | None) -> str | None:
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


def log_request(
    scope: Mapping[str, Any], route: str | None, status: int, headers: Sequence[tuple[bytes, bytes]], seconds: float
) -> None:
    location = next((value.decode("latin-1") for name, value in headers if name == b"location"), None)
    fields: dict[str, object] = {
        "method": scope["method"],
        "route": route,
        "path": scope["path"],
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
    }
    order_id = order_of(scope.get("path_params") or {}, location)
    if order_id is not None:
        fields["order_id"] = order_id
    log.info("http request", **fields)
