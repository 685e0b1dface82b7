"""The Prometheus metrics every service exposes on `/metrics`, and the ASGI middleware measuring HTTP.

Metrics live in the process-wide default registry. Each carries the service (or consumer group) as a label
because tests run all three services in one process; in a pod the label is constant and costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

from eventkit.observability.accesslog import log_request

HTTP_REQUESTS = Counter(
    "orderflow_http_requests",
    "HTTP requests answered, by route template and status",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "orderflow_http_request_duration_seconds", "HTTP request duration by route template", ["service", "method", "route"]
)
EVENTS_PRODUCED = Counter(
    "orderflow_events_produced",
    "Records sent to Kafka, by outcome (ok: acknowledged)",
    ["service", "topic", "type", "outcome"],
)
EVENTS_CONSUMED = Counter(
    "orderflow_events_consumed",
    "Records consumed, by outcome: processed, duplicate (already in the inbox), failed, "
    "ignored (meant for another service) or unhandled (unknown to this service's topology)",
    ["group", "type", "outcome"],
)
HANDLER_DURATION = Histogram("orderflow_handler_duration_seconds", "Event handler duration", ["group", "type"])
DEAD_LETTERS = Counter(
    "orderflow_dead_letters", "Records a group sent to a dead-letter topic", ["group", "topic", "type", "error"]
)
CONSUMER_LAG = Gauge("orderflow_consumer_lag", "Log end offset minus committed offset", ["group", "topic", "partition"])
OUTBOX_BACKLOG = Gauge("orderflow_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "orderflow_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row (0 when empty)", ["service"]
)
RELAY_LEADER = Gauge("orderflow_relay_leader", "1 while this process's outbox relay holds the lock", ["service"])


def start_at_zero(
    service: str, topic: str, publishes: Iterable[str], group: str | None, handles: Iterable[str]
) -> None:
    """The outcome series a dashboard rates or divides, created at 0 when the service starts: `rate()` of a
    failure that never happened then reads 0 instead of "no data", and a first failure shows as an increase."""
    for event_type in publishes:
        for outcome in ("ok", "error"):
            EVENTS_PRODUCED.labels(service, topic, event_type, outcome)
    if group is not None:
        for event_type in handles:
            for outcome in ("processed", "duplicate", "failed"):
                EVENTS_CONSUMED.labels(group, event_type, outcome)


# Probes and scrapes would drown the traffic that matters; they are neither measured nor traced.
UNOBSERVED_PATHS = frozenset({"/livez", "/readyz", "/metrics"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HttpMetrics:
    """ASGI middleware: requests and durations by route template (`/orders/{order_id}`), never raw paths.

    With `access_log`, also one structured line per request (accesslog.log_request); added inside the tracing
    middleware, so that line is logged while the request's server span is current.
    """

    def __init__(self, app: ASGIApp, service: str, access_log: bool = False) -> None:
        self.app = app
        self.service = service
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNOBSERVED_PATHS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering
        headers: list[tuple[bytes, bytes]] = []

        async def send_and_record(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            # The router stores the matched route in the scope; unmatched paths share one label value.
            route = getattr(scope.get("route"), "path", None)
            method = scope["method"]
            seconds = time.perf_counter() - started
            HTTP_REQUESTS.labels(self.service, method, route or "unmatched", str(status)).inc()
            HTTP_DURATION.labels(self.service, method, route or "unmatched").observe(seconds)
            if self.access_log:
                log_request(scope, route, status, headers, seconds)


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router
