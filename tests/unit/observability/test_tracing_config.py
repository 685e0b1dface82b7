"""Tracing from the standard OTEL_* variables: nothing unless configured, and the resource the chart sets."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

from eventkit.observability.otlpfile import OtlpJsonFileExporter
from eventkit.observability.tracing import TracingConfigError, exporters, resource


def test_nothing_is_exported_unless_the_environment_asks() -> None:
    assert exporters({}) == []
    assert exporters({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == []
    assert exporters({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == []


def test_an_endpoint_selects_otlp_over_http_or_grpc_as_the_protocol_says() -> None:
    (http,) = exporters({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    (grpc,) = exporters({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})

    assert isinstance(http, HttpExporter)
    assert isinstance(grpc, GrpcExporter)
    with pytest.raises(TracingConfigError, match="http/json"):
        exporters({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})
    with pytest.raises(TracingConfigError, match="zipkin"):
        exporters({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_a_trace_file_is_an_exporter_of_its_own(tmp_path: Path) -> None:
    (exporter,) = exporters({"ORDERFLOW_TRACE_FILE": str(tmp_path / "traces.jsonl")})

    assert isinstance(exporter, OtlpJsonFileExporter)
    exporter.shutdown()


def test_the_resource_names_the_service_and_takes_the_charts_kubernetes_attributes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.namespace.name=shop,k8s.pod.name=orders-7d9f")

    attributes = resource("orders", "1.2.3").attributes

    assert attributes["service.name"] == "orders"
    assert attributes["service.version"] == "1.2.3"
    assert attributes["k8s.namespace.name"] == "shop"
    assert attributes["k8s.pod.name"] == "orders-7d9f"
