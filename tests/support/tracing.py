"""`spans`: an SDK tracer provider exporting to memory, as `configure_tracing` would to a collector, for one test.

OpenTelemetry allows one global provider per process; the fixture installs it for the test and resets the
globals afterwards, so later tests run untraced, as a service without an exporter does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.test.globals_test import reset_trace_globals

from eventkit.observability.tracing import install


@contextlib.contextmanager
def installed(sampler: Sampler | None = None) -> Iterator[InMemorySpanExporter]:
    """The process's provider for the block, sampling with `sampler` (None: the SDK's default, every trace)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # synchronous: finished spans are there at once
    reset_trace_globals()
    install(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        reset_trace_globals()
        install(None)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with installed() as exporter:
        yield exporter
