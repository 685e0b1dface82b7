"""Server spans for FastAPI and client spans for SQLAlchemy, installed only when tracing is enabled.

Without a provider these instrumentations would still run per request and per statement for nothing.
"""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.trace import Span, SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine

from eventkit.observability.metrics import UNOBSERVED_PATHS
from eventkit.observability.tracing import enabled


def instrument_app(app: FastAPI) -> None:
    if enabled():
        FastAPIInstrumentor.instrument_app(
            app,
            excluded_urls=",".join(f"{path}$" for path in sorted(UNOBSERVED_PATHS)),
            exclude_spans=["receive", "send"],  # one span per ASGI message would bury the request's own
        )


def instrument_engine(engine: AsyncEngine) -> None:
    """Statement spans of this engine only (the instrumentor's `instrument()` patches every engine)."""
    if enabled():
        usage = metrics.get_meter(__name__).create_up_down_counter("db.client.connections.usage")
        statements = _ChildSpansOnly(trace.get_tracer("opentelemetry.instrumentation.sqlalchemy"))
        EngineTracer(statements, engine.sync_engine, usage)  # type: ignore[no-untyped-call]


class _ChildSpansOnly:
    """Starts statement spans only inside another span (a request, a handler, a batch).

    Polls outside of any work (the relay's idle query, readiness probes, the order watcher, metric samplers)
    would otherwise each become a trace of their own, several per second per service.
    """

    def __init__(self, delegate: trace.Tracer) -> None:
        self._delegate = delegate

    def start_span(self, name: str, kind: SpanKind = SpanKind.INTERNAL) -> Span:
        if not trace.get_current_span().get_span_context().is_valid:
            return trace.INVALID_SPAN
        return self._delegate.start_span(name, kind=kind)
