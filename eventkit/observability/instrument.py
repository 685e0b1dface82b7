"""Server spans for the HTTP API and client spans for SQLAlchemy, installed only when tracing is enabled.

Without a provider these would still run per request and per statement for nothing; with one, a request or
statement the sampler drops does no attribute work either.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from sqlalchemy.ext.asyncio import AsyncEngine

from eventkit.observability.httpspans import ServerSpans
from eventkit.observability.tracing import enabled

# For `FastAPI(telemetry=...)`: FastAPI's own telemetry would add a second server span per request, its attributes
# built before the sampler decides, and OpenTelemetry metrics and logs beside the services' Prometheus metrics and
# log lines.
FASTAPI_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def instrument_app(app: FastAPI) -> None:
    if enabled():
        app.add_middleware(ServerSpans)


def instrument_engine(engine: AsyncEngine) -> None:
    """Statement spans of this engine only (the instrumentor's `instrument()` patches every engine)."""
    if enabled():
        usage = metrics.get_meter(__name__).create_up_down_counter("db.client.connections.usage")
        tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy")
        _RecordedOnly(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]


class _RecordedOnly(EngineTracer):
    """Statement spans only inside a span that is recorded (a sampled request, handler or batch).

    Polls outside of any work (the relay's idle query, readiness probes, the order watcher, metric samplers)
    would otherwise each become a trace of their own, several per second per service; and inside a request the
    sampler dropped, the instrumentation would still read the connection's attributes and name the statement
    before learning that its span records nothing.
    """

    # Overrides the instrumentation's listener (a private method): if a release renamed it, polls would become
    # traces again, which tests/unit/observability/test_server_spans.py catches.
    def _before_cur_exec(self, conn: Any, cursor: Any, statement: Any, params: Any, *args: Any) -> Any:
        if not trace.get_current_span().is_recording():
            return statement, params
        return super()._before_cur_exec(conn, cursor, statement, params, *args)  # type: ignore[no-untyped-call]
