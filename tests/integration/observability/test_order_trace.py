"""One order through the real broker is one trace: HTTP, outbox relay, Kafka, and every service's handlers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.support.kafka import KafkaCluster
from tests.support.stack import running_stack, sqlite_urls

pytestmark = pytest.mark.kafka


async def _spans_until(
    exporter: InMemorySpanExporter, done: Callable[[Sequence[ReadableSpan]], bool], timeout: float = 30
) -> Sequence[ReadableSpan]:
    deadline = time.monotonic() + timeout
    while not done(spans := exporter.get_finished_spans()):
        assert time.monotonic() < deadline, f"spans incomplete: {sorted(span.name for span in spans)}"
        await asyncio.sleep(0.1)
    return spans


def _one(spans: Sequence[ReadableSpan], name: str, **attributes: object) -> ReadableSpan:
    found = [
        span
        for span in spans
        if span.name == name and all((span.attributes or {}).get(key) == value for key, value in attributes.items())
    ]
    assert len(found) == 1, f"{len(found)} spans {name} {attributes}"
    return found[0]


def _id(span: ReadableSpan) -> int:
    assert span.context is not None
    span_id: int = span.context.span_id
    return span_id


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _assert_child_and_link(child: ReadableSpan, parent: ReadableSpan) -> None:
    assert _parent(child) == _id(parent)
    assert [link.context.span_id for link in child.links] == [_id(parent)]


async def test_an_order_is_one_trace_from_the_request_through_every_service(
    spans: InMemorySpanExporter, kafka: KafkaCluster, tmp_path: Path
) -> None:
    # The stack's consumers read three retry levels (FAST_RETRIES); readiness waits for every topic they read.
    settings = await kafka.isolated(partitions=3, retry_levels=3)
    ns = settings.namespace
    async with running_stack(settings, sqlite_urls(tmp_path)) as stack:
        await stack.set_stock("SKU-T", 5)
        spans.clear()
        order_id = await stack.place("trace-alice", ("SKU-T", 1, "2.00"))
        assert (await stack.outcome(order_id))["status"] == "CONFIRMED"

        def answered(finished: Sequence[ReadableSpan]) -> bool:
            orders_processed = [
                span
                for span in finished
                if span.attributes and span.attributes.get("messaging.consumer.group.name") == f"{ns}orders"
            ]
            return len(orders_processed) >= 2

        finished = await _spans_until(spans, answered)

    request = _one(finished, "POST /orders")
    assert request.kind is SpanKind.SERVER
    assert request.context is not None
    trace_id = request.context.trace_id
    in_trace = [span for span in finished if span.context is not None and span.context.trace_id == trace_id]

    placed = _one(
        in_trace,
        f"send {ns}orders",
        **{"messaging.kafka.message.key": order_id, "cloudevents.event_type": "orderflow.order.placed.v1"},
    )
    assert placed.kind is SpanKind.PRODUCER
    assert _parent(placed) == _id(request)
    assert placed.attributes is not None
    assert placed.attributes["messaging.system"] == "kafka"
    assert placed.attributes["messaging.destination.name"] == f"{ns}orders"
    assert {"messaging.destination.partition.id", "messaging.kafka.offset", "messaging.message.id"} <= set(
        placed.attributes
    )

    for service, topic, answer in (
        ("inventory", "inventory", "stock.reserved"),
        ("payments", "payments", "payment.captured"),
    ):
        handled = _one(
            in_trace,
            f"process {ns}orders",
            **{
                "messaging.consumer.group.name": f"{ns}{service}",
                "cloudevents.event_type": "orderflow.order.placed.v1",
            },
        )
        assert handled.kind is SpanKind.CONSUMER
        _assert_child_and_link(handled, placed)
        assert handled.attributes is not None
        assert handled.attributes["messaging.message.id"] == placed.attributes["messaging.message.id"]
        assert handled.attributes["messaging.kafka.message.key"] == order_id
        assert (
            handled.attributes["messaging.destination.partition.id"]
            == placed.attributes["messaging.destination.partition.id"]
        )
        assert handled.attributes["messaging.kafka.offset"] == placed.attributes["messaging.kafka.offset"]

        sent = _one(in_trace, f"send {ns}{topic}", **{"cloudevents.event_type": f"orderflow.{answer}.v1"})
        assert _parent(sent) == _id(handled)
        back = _one(in_trace, f"process {ns}{topic}", **{"messaging.consumer.group.name": f"{ns}orders"})
        _assert_child_and_link(back, sent)

    # OpenTelemetry's messaging conventions on every send and process span of the order, and its id to find them by.
    host, port = kafka.bootstrap_servers.split(",")[0].rsplit(":", 1)
    messaging = [span for span in in_trace if span.kind in (SpanKind.PRODUCER, SpanKind.CONSUMER)]
    assert len(messaging) >= 7  # the placed order sent, processed twice, two answers sent and processed
    for span in messaging:
        assert span.attributes is not None
        operation = "send" if span.kind is SpanKind.PRODUCER else "process"
        assert span.name.startswith(f"{operation} ")
        assert span.attributes["messaging.operation.name"] == operation
        assert span.attributes["messaging.operation.type"] == operation
        assert (span.attributes["server.address"], span.attributes["server.port"]) == (host, int(port))
        assert span.attributes["orderflow.order.id"] == order_id
        assert "error.type" not in span.attributes
    # A batch's transaction is no messaging operation: it carries none of the messaging attributes.
    batches = [span for span in finished if span.name == "apply batch"]
    assert batches
    for span in batches:
        assert span.kind is SpanKind.INTERNAL
        assert not {key for key in span.attributes or {} if key.startswith("messaging.")}
        assert span.attributes is not None
        assert isinstance(size := span.attributes["orderflow.batch.size"], int)
        assert size >= 1

    # The handlers' statements are inside their process spans; the request's insert inside the request.
    statements = [span for span in in_trace if span.kind is SpanKind.CLIENT]
    assert any(_parent(span) == _id(request) for span in statements)
    assert all(span.name not in ("GET /readyz", "GET /livez") for span in finished)


async def test_an_order_is_found_by_its_id_with_the_status_and_cancel_reason_it_reached(
    spans: InMemorySpanExporter, kafka: KafkaCluster, tmp_path: Path
) -> None:
    """What a person searching Jaeger knows: the order id; the spans then say what became of the order."""
    settings = await kafka.isolated(partitions=3, retry_levels=3)
    orders_group = f"{settings.namespace}orders"
    async with running_stack(settings, sqlite_urls(tmp_path)) as stack:
        await stack.set_stock("SKU-FOUND", 5)
        await stack.set_stock("SKU-SHORT", 1)
        spans.clear()
        confirmed = await stack.place("trace-bob", ("SKU-FOUND", 1, "2.00"))
        cancelled = await stack.place("trace-carol", ("SKU-SHORT", 3, "2.00"))
        assert (await stack.outcome(confirmed))["status"] == "CONFIRMED"
        assert (await stack.outcome(cancelled))["cancel_reason"] == "out_of_stock"

        def settling(finished: Sequence[ReadableSpan], order_id: str) -> list[ReadableSpan]:
            return [
                span
                for span in finished
                if span.kind is SpanKind.CONSUMER
                and (span.attributes or {}).get("messaging.consumer.group.name") == orders_group
                and (span.attributes or {}).get("orderflow.order.id") == order_id
                and "orderflow.order.status" in (span.attributes or {})
            ]

        finished = await _spans_until(spans, lambda f: all(settling(f, o) for o in (confirmed, cancelled)))

    def of_order(order_id: str, kind: SpanKind) -> list[dict[str, object]]:
        return [
            dict(span.attributes or {})
            for span in finished
            if span.kind is kind and (span.attributes or {}).get("orderflow.order.id") == order_id
        ]

    for order_id, status, reason in ((confirmed, "CONFIRMED", None), (cancelled, "CANCELLED", "out_of_stock")):
        [decided] = settling(finished, order_id)  # the one answer that settled it says so
        assert decided.attributes is not None
        assert decided.attributes["orderflow.order.status"] == status
        assert decided.attributes.get("orderflow.order.cancel_reason") == reason
        requests = of_order(order_id, SpanKind.SERVER)  # POST /orders, then each GET /orders/{id}
        assert requests[0]["orderflow.order.status"] == "PENDING"
        assert requests[-1]["orderflow.order.status"] == status
        assert requests[-1].get("orderflow.order.cancel_reason") == reason
