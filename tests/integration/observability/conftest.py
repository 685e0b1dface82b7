"""An SDK tracer provider for this process, exporting to memory, as `configure_tracing` would to a collector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@pytest.fixture(scope="session")
def provider() -> TracerProvider:
    # OpenTelemetry allows one global provider per process: install it once; later tests run traced too.
    installed = trace.get_tracer_provider()
    if isinstance(installed, TracerProvider):
        return installed
    created = TracerProvider()
    trace.set_tracer_provider(created)
    return created


@pytest.fixture
def spans(provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # synchronous: finished spans are there at once
    yield exporter
    exporter.shutdown()  # a shut down exporter drops what later tests trace instead of keeping it
