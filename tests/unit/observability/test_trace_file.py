"""The trace file: OTLP/JSON lines written by the exporter, read back into an order's span tree."""

from __future__ import annotations

import json
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode
from typer.testing import CliRunner

from eventkit.observability.otlpfile import OtlpJsonFileExporter
from orderflow.cli import app
from orderflow.trace import order_traces, read_spans

ORDER = "3f1c1a52-8a3e-4c55-9d8e-0e6f1c2b7a10"


def _write_order_trace(path: Path) -> tuple[str, str]:
    """A request, its send and a failed process span of ORDER, plus an unrelated trace; their hex ids."""
    provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
    provider.add_span_processor(SimpleSpanProcessor(OtlpJsonFileExporter(path)))
    tracer = provider.get_tracer("test")
    with (
        tracer.start_as_current_span("POST /orders", kind=SpanKind.SERVER) as request,
        tracer.start_as_current_span("send orders", kind=SpanKind.PRODUCER) as send,
    ):
        send.set_attribute("messaging.kafka.message.key", ORDER)
        with tracer.start_as_current_span("process orders", kind=SpanKind.CONSUMER) as process:
            process.set_status(StatusCode.ERROR)
    with tracer.start_as_current_span("GET /orders"):
        pass
    provider.shutdown()
    context = request.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def test_each_export_is_one_line_of_otlp_json_with_hex_ids_and_numeric_kinds(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    trace_id, span_id = _write_order_trace(path)

    requests = [json.loads(line) for line in path.read_text().splitlines()]

    assert len(requests) == 4  # the simple processor exports every span on its own
    spans = [span for request in requests for span in request["resourceSpans"][0]["scopeSpans"][0]["spans"]]
    request_span = next(span for span in spans if span["name"] == "POST /orders")
    assert request_span["traceId"] == trace_id
    assert request_span["spanId"] == span_id
    assert request_span["kind"] == SpanKind.SERVER.value + 1  # OTLP numbers kinds from UNSPECIFIED = 0
    send = next(span for span in spans if span["name"] == "send orders")
    assert send["parentSpanId"] == span_id


def test_an_orders_traces_hold_every_span_of_the_traces_that_carried_its_events(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    trace_id, _ = _write_order_trace(path)

    with path.open() as lines:
        traces = order_traces(read_spans(lines), ORDER)

    assert list(traces) == [trace_id]
    assert [(span.name, span.service, span.status) for span in traces[trace_id]] == [
        ("POST /orders", "orders", ""),
        ("send orders", "orders", ""),
        ("process orders", "orders", "error"),
    ]


def test_the_trace_command_prints_the_tree_or_says_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    _write_order_trace(path)
    runner = CliRunner()

    shown = runner.invoke(app, ["trace", ORDER, "--trace-file", str(path)], env={"COLUMNS": "120"})
    unknown = runner.invoke(app, ["trace", "no-such-order", "--trace-file", str(path)])

    assert shown.exit_code == 0, shown.output
    request, send, process = shown.output.splitlines()[1:]
    assert "orders  POST /orders" in request
    assert "orders  send orders" in send
    assert "orders  process orders" in process
    assert "ERROR" in process
    # Each child is indented one level deeper than its parent.
    assert request.index("orders") < send.index("orders") < process.index("orders")
    assert unknown.exit_code == 1
    assert "no spans of order no-such-order" in unknown.output
