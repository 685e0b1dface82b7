"""An SDK tracer provider exporting to memory, as `configure_tracing` would to a collector, for one test.

OpenTelemetry allows one global provider per process; the fixture installs it for the test and resets the
globals afterwards, so later tests run untraced, as a service without an exporter does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.test.globals_test import reset_trace_globals

from eventkit.observability.tracing import install


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # synchronous: finished spans are there at once
    reset_trace_globals()
    install(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        reset_trace_globals()
        install(None)
