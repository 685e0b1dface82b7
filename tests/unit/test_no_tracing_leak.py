"""Tests run untraced unless they ask for spans: no tracer provider is left behind by another test.

(tests/unit runs after tests/integration, whose observability tests install one per test.)
"""

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from eventkit.observability.tracing import enabled


def test_no_global_tracer_provider_is_installed() -> None:
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    assert not enabled()
