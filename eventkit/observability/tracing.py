"""The process's tracer provider, built from the standard `OTEL_*` variables, and the one tracer eventkit uses.

No exporter is configured unless asked for (an OTLP endpoint, `OTEL_TRACES_EXPORTER`, or a trace file), and
without one no SDK provider is installed: every span helper then checks `enabled()` and does nothing, so the
hot paths pay one `isinstance` per record, not a span.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from eventkit.observability.otlpfile import OtlpJsonFileExporter

TRACER_NAME = "eventkit"
TRACE_FILE_ENV = "ORDERFLOW_TRACE_FILE"


class TracingConfigError(ValueError):
    """An `OTEL_*` variable asks for something this process cannot do."""


_installed = False
_tracer: trace.Tracer | None = None


def install(provider: TracerProvider | None) -> None:
    """Make `provider` the process's (`configure_tracing`, or a test's); None forgets it again, after a test
    reset OpenTelemetry's globals."""
    global _installed, _tracer
    if provider is not None:
        trace.set_tracer_provider(provider)
    _installed = isinstance(trace.get_tracer_provider(), TracerProvider)
    _tracer = None


def enabled() -> bool:
    """True once an SDK provider is installed. A flag: OpenTelemetry's own lookup reads the environment on every
    call, and the hot paths ask several times per order."""
    return _installed


def tracer() -> trace.Tracer:
    """eventkit's tracer, looked up once per provider: `trace.get_tracer` costs about as much as starting a span."""
    global _tracer
    if _tracer is None:
        _tracer = trace.get_tracer(TRACER_NAME)
    return _tracer


def resource(service: str, version: str) -> Resource:
    """`service.name` and `service.version`, which `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` override.

    The chart puts the Kubernetes attributes (`k8s.namespace.name`, `k8s.pod.name`) in OTEL_RESOURCE_ATTRIBUTES.
    """
    from_env = OTELResourceDetector().detect().attributes
    return Resource.create({"service.name": service, "service.version": version, **from_env})


def exporters(env: Mapping[str, str]) -> list[SpanExporter]:
    """The exporters the environment configures; empty when it configures none."""
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return []
    found: list[SpanExporter] = []
    if trace_file := env.get(TRACE_FILE_ENV):
        found.append(OtlpJsonFileExporter(Path(trace_file)))
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    # The specification defaults to otlp; here an endpoint must be given, so a laptop never retries localhost.
    names = env.get("OTEL_TRACES_EXPORTER", "otlp" if endpoint else "none")
    for name in (part.strip() for part in names.split(",")):
        if name == "otlp":
            found.append(_otlp_exporter(env))
        elif name == "console":
            found.append(ConsoleSpanExporter())
        elif name not in ("none", ""):
            raise TracingConfigError(f"OTEL_TRACES_EXPORTER={names!r}: supported are otlp, console and none")
    return found


def _otlp_exporter(env: Mapping[str, str]) -> SpanExporter:
    # Imported on demand: the gRPC stack is heavy and only needed when asked for.
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter()  # endpoint, headers, TLS and timeout come from OTEL_EXPORTER_OTLP_*
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter()
    raise TracingConfigError(f"OTLP protocol {protocol!r}: supported are grpc and http/protobuf")


def configure_tracing(service: str, version: str, env: Mapping[str, str] | None = None) -> bool:
    """Install a provider exporting where the environment says; False (and nothing installed) if nowhere."""
    env = os.environ if env is None else env
    configured = exporters(env)
    if not configured:
        return False
    provider = TracerProvider(resource=resource(service, version))  # reads OTEL_TRACES_SAMPLER itself
    for exporter in configured:
        # OTEL_BSP_* tune the batching; a short default delay makes `orderflow trace` see an order at once.
        delay = int(env.get("OTEL_BSP_SCHEDULE_DELAY", "1000"))
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=delay))
    install(provider)
    return True
