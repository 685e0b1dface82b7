"""CloudEvents records through a real broker keep their key, headers and data."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from eventkit.envelope import from_record, new_event, to_record
from eventkit.events import OrderLine, OrderPlaced
from eventkit.producer import EventProducer
from tests.support.kafka import KafkaCluster, read_all

pytestmark = pytest.mark.kafka


async def test_an_event_survives_produce_and_consume_with_headers_intact(kafka: KafkaCluster) -> None:
    topic = await kafka.create_topic(partitions=3)
    placed = OrderPlaced(
        order_id=uuid4(),
        customer_id="c-42",
        items=[OrderLine(sku="SKU-1", quantity=2, unit_price=Decimal("9.99"))],
        currency="EUR",
        total=Decimal("19.98"),
    )
    event = new_event(placed, source="/orderflow/orders")
    traceparent = ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    record = to_record(event, extra_headers=[traceparent])
    producer = EventProducer(kafka.settings, client_id="roundtrip-test")
    await producer.start()
    try:
        metadata = await producer.send(topic, record)
    finally:
        await producer.stop()

    [consumed] = await read_all(kafka.settings, topic, expected=1)

    assert consumed.partition == metadata.partition
    assert consumed.key == str(placed.order_id).encode()
    # A tracing producer (an SDK provider installed) replaces the span id with its send span's: same trace.
    assert [h for h in consumed.headers if h[0] != "traceparent"] == [h for h in record.headers if h != traceparent]
    assert dict(consumed.headers)["ce_type"] == b"orderflow.order.placed.v1"
    assert dict(consumed.headers)["traceparent"].split(b"-")[1] == traceparent[1].split(b"-")[1]
    assert from_record(consumed.headers, consumed.value) == event
