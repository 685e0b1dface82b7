"""Structured logs: one JSON object per line, carrying the current span's ids and the event being handled."""

from __future__ import annotations

import io
import json
import logging
from decimal import Decimal
from uuid import uuid4

import structlog
from opentelemetry.sdk.trace import TracerProvider

from eventkit.envelope import new_event
from eventkit.events import OrderLine, OrderPlaced
from eventkit.observability.logs import event_logged


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_lines_logged_inside_a_span_carry_its_trace_and_span_id(output: io.StringIO) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("eventkit.consumer").warning("from the standard library")
        structlog.get_logger().info("from structlog")
    logging.getLogger("eventkit.consumer").warning("after the span")

    inside, also_inside, after = _lines(output)
    context = span.get_span_context()
    for line in (inside, also_inside):
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")
        assert line["service"] == "orders"
    assert inside["event"] == "from the standard library"
    assert inside["level"] == "warning"
    assert "trace_id" not in after


def test_lines_logged_while_handling_an_event_name_the_event_and_its_order(output: io.StringIO) -> None:
    line = OrderLine(sku="SKU-1", quantity=1, unit_price=Decimal("1.00"))
    data = OrderPlaced(order_id=uuid4(), customer_id="c", items=[line], currency="EUR", total=Decimal(1))
    event = new_event(data, source="/tests")

    with event_logged(event):
        logging.getLogger("services").info("handling")

    (logged,) = _lines(output)
    assert logged["event_id"] == event.id
    assert logged["order_id"] == str(data.order_id)
