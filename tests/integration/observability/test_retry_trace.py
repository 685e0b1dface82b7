"""Retries, dead letters and their replay stay in the trace of the event's original send."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from sqlalchemy import MetaData

from eventkit.consumer import ConsumerOptions, EventConsumer
from eventkit.envelope import CloudEvent, new_event, to_record
from eventkit.errors import PermanentFailure
from eventkit.events import OrderLine, OrderPlaced
from eventkit.messaging import UnitOfWork, messaging_tables
from eventkit.producer import EventProducer
from eventkit.settings import KafkaSettings
from orderflow.dlq import replay_records
from tests.support.kafka import KafkaCluster, running, sqlite_and_producer, toy_service

pytestmark = pytest.mark.kafka

metadata = MetaData()
tables = messaging_tables(metadata)


@dataclass
class Failing:
    settings: KafkaSettings
    producer: EventProducer
    flaky_left: int = 1
    blocked: set[str] = field(default_factory=lambda: {"blocked"})

    async def handle(self, uow: UnitOfWork, event: CloudEvent) -> None:
        assert isinstance(event.data, OrderPlaced)
        if event.data.customer_id in self.blocked:
            raise PermanentFailure("blocked customer")
        if event.data.customer_id == "flaky" and self.flaky_left:
            self.flaky_left -= 1
            raise ConnectionError("provider unavailable")


@pytest.fixture
async def failing(kafka: KafkaCluster, tmp_path: Path) -> AsyncIterator[Failing]:
    settings = await kafka.isolated(partitions=1, retry_levels=1)
    async with sqlite_and_producer(settings, tmp_path / "retry.db", metadata, "retry-trace") as (sessions, producer):
        failing = Failing(settings, producer)
        consumer = EventConsumer(
            settings,
            service=toy_service("retrying", OrderPlaced),
            handlers={OrderPlaced: failing.handle},
            sessions=sessions,
            tables=tables,
            sender=producer,
            options=ConsumerOptions(retry_levels=1, retry_backoff_seconds=0.1),
        )
        async with running(consumer):
            yield failing


def _placed(customer: str) -> CloudEvent:
    line = OrderLine(sku="SKU-1", quantity=1, unit_price=Decimal("1.00"))
    data = OrderPlaced(order_id=uuid4(), customer_id=customer, items=[line], currency="EUR", total=Decimal(1))
    return new_event(data, source="/tests")


async def _processed(exporter: InMemorySpanExporter, event: CloudEvent, count: int) -> list[ReadableSpan]:
    deadline = time.monotonic() + 30
    while True:
        found = [
            span
            for span in exporter.get_finished_spans()
            if span.name.startswith("process ") and (span.attributes or {}).get("messaging.message.id") == event.id
        ]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} process spans of {event.id}"
        await asyncio.sleep(0.1)


async def test_a_retried_a_dead_lettered_and_a_replayed_event_stay_in_their_first_trace(
    spans: InMemorySpanExporter, failing: Failing
) -> None:
    flaky, blocked = _placed("flaky"), _placed("blocked")
    with trace.get_tracer("test").start_as_current_span("place") as root:
        await failing.producer.send_all((failing.settings.topic("orders"), to_record(e)) for e in (flaky, blocked))
    trace_id = root.get_span_context().trace_id

    first, retried = await _processed(spans, flaky, 2)
    dead = (await _processed(spans, blocked, 1))[0]
    failing.blocked.clear()
    await replay_records(failing.settings, failing.settings.topic("orders"), {blocked.id})
    replayed = (await _processed(spans, blocked, 2))[1]

    topics = [
        span.attributes["messaging.destination.name"] for span in (first, retried, dead, replayed) if span.attributes
    ]
    orders = failing.settings.topic("orders")
    assert topics == [orders, f"{orders}.retry.1", orders, f"{orders}.retry.1"]
    assert {span.context.trace_id for span in (first, retried, dead, replayed) if span.context} == {trace_id}
    assert first.status.status_code is StatusCode.ERROR
    assert dead.status.status_code is StatusCode.ERROR
    assert retried.status.status_code is not StatusCode.ERROR
    assert replayed.status.status_code is not StatusCode.ERROR
    # OpenTelemetry's error.type: the exception's class, on failed operations only
    assert [(span.attributes or {}).get("error.type") for span in (first, dead, retried, replayed)] == [
        "ConnectionError",
        "eventkit.errors.PermanentFailure",
        None,
        None,
    ]
    sends = {span.name for span in spans.get_finished_spans() if span.context and span.context.trace_id == trace_id}
    assert {f"send {orders}", f"send {orders}.retry.1", f"send {orders}.dlq"} <= sends
