"""Payments with its consumer and relay on a real broker: OrderPlaced in, answers out, retries on outages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from eventkit.consumer import ConsumerOptions
from eventkit.envelope import CloudEvent, from_record, new_event, to_record
from eventkit.events import (
    CancelReason,
    EventData,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    PaymentCaptured,
    PaymentDeclined,
    PaymentRefunded,
)
from eventkit.retry import ATTEMPTS
from eventkit.service import ServiceContext
from eventkit.settings import KafkaSettings
from services.payments.app import create_app
from services.payments.provider import SimulatedProvider
from services.payments.settings import PaymentsSettings
from tests.conftest import KafkaCluster
from tests.integration.kafka_helpers import read_all

pytestmark = pytest.mark.kafka


@pytest.fixture
async def stack(
    migrated_url: str, kafka: KafkaCluster
) -> AsyncIterator[tuple[FastAPI, KafkaSettings, SimulatedProvider]]:
    settings = await kafka.isolated(partitions=3, retry_levels=2)
    options = PaymentsSettings(
        database_url=migrated_url, consumer=ConsumerOptions(retry_levels=2, retry_backoff_seconds=0.2)
    )
    provider = SimulatedProvider(flaky_failures=2)
    app = create_app(options, settings, provider)
    async with app.router.lifespan_context(app):
        await ready(app)
        yield app, settings, provider


async def ready(app: FastAPI, timeout: float = 60.0) -> None:
    """The consumer joined its group, so nothing sent from now on is missed."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://payments") as client:
        deadline = time.monotonic() + timeout
        while (await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, (await client.get("/readyz")).json()
            await asyncio.sleep(0.2)


def placed(customer: str, total: str = "30.00") -> CloudEvent:
    line = OrderLine(sku="SKU-1", quantity=1, unit_price=Decimal(total))
    data = OrderPlaced(order_id=uuid4(), customer_id=customer, items=[line], currency="EUR", total=Decimal(total))
    return new_event(data, source="/tests")


async def send(app: FastAPI, settings: KafkaSettings, *events: CloudEvent) -> None:
    context: ServiceContext = app.state.context
    await context.producer.send_all((settings.topic(event.data.TOPIC), to_record(event)) for event in events)


async def answers(settings: KafkaSettings, expected: int) -> list[EventData]:
    records = await read_all(settings, settings.topic("payments"), expected=expected)
    return [from_record(list(record.headers), record.value).data for record in records]


async def test_placed_orders_are_answered_once_and_an_outage_is_retried_until_captured(
    stack: tuple[FastAPI, KafkaSettings, SimulatedProvider],
) -> None:
    app, settings, provider = stack
    ordinary, declined, flaky = placed("c-1"), placed("decline-1"), placed("flaky-1")

    await send(app, settings, ordinary, declined, flaky, ordinary)  # `ordinary` redelivered

    by_order = {answer.order_id: answer for answer in await answers(settings, expected=3)}
    assert isinstance(by_order[ordinary.data.order_id], PaymentCaptured)
    assert isinstance(by_order[declined.data.order_id], PaymentDeclined)
    assert isinstance(by_order[flaky.data.order_id], PaymentCaptured)
    # The outage outlived the record-by-record re-apply of its batch, so it travelled through a retry topic.
    [hop] = await read_all(settings, settings.topic("orders.retry.1"), expected=1)
    assert dict(hop.headers)[ATTEMPTS] == b"1"
    assert sorted(charge.customer_id for charge in provider.charges) == ["c-1", "flaky-1"]


async def test_a_cancelled_order_is_refunded_once_over_kafka(
    stack: tuple[FastAPI, KafkaSettings, SimulatedProvider],
) -> None:
    app, settings, provider = stack
    order = placed("c-2")
    await send(app, settings, order)
    [captured] = await answers(settings, expected=1)
    assert isinstance(captured, PaymentCaptured)

    cancel = OrderCancelled(order_id=order.data.order_id, reason=CancelReason.OUT_OF_STOCK)
    # The same cancellation twice under different event ids: a business-level duplicate.
    await send(app, settings, new_event(cancel, source="/tests"), new_event(cancel, source="/tests"))

    [_, refunded] = await answers(settings, expected=2)
    assert refunded == PaymentRefunded(
        order_id=order.data.order_id, payment_id=captured.payment_id, amount=Decimal("30.00"), currency="EUR"
    )
    assert len(provider.refunds) == 1
