"""The orders service with its consumer and relay on a real broker, inventory and payments played by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from uuid import UUID

import pytest
from sqlalchemy import func, select

from eventkit.consumer import ConsumerOptions
from eventkit.envelope import from_record
from eventkit.events import (
    CancelReason,
    EventData,
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
    PaymentCaptured,
    PaymentDeclined,
    Reservation,
    StockReserved,
)
from services.orders.app import create_app
from services.orders.repository import tables
from services.orders.settings import OrdersSettings
from tests.support.events import event
from tests.support.kafka import KafkaCluster, read_all
from tests.support.services import RunningService, running_service

pytestmark = pytest.mark.kafka

BODY = {"customer_id": "c-1", "currency": "EUR", "items": [{"sku": "MUG", "quantity": 2, "unit_price": "12.50"}]}


@pytest.fixture
async def orders(migrated_url: str, kafka: KafkaCluster) -> AsyncIterator[RunningService]:
    settings = await kafka.isolated(partitions=3, retry_levels=1)
    options = OrdersSettings(database_url=migrated_url, consumer=ConsumerOptions(retry_levels=1))
    async with running_service(create_app(options, kafka=settings), settings) as service:
        yield service


async def test_answers_over_kafka_confirm_or_cancel_and_each_outcome_is_published_once(
    orders: RunningService,
) -> None:
    client = orders.client
    confirmed = UUID((await client.post("/orders", json=BODY)).json()["order_id"])
    declined = UUID((await client.post("/orders", json=BODY)).json()["order_id"])
    reserved = event(StockReserved(order_id=confirmed, items=[Reservation(sku="MUG", quantity=2)]))
    captured = event(PaymentCaptured(order_id=confirmed, payment_id="p-1", amount=Decimal("25.00"), currency="EUR"))
    refused = event(PaymentDeclined(order_id=declined, reason="limit exceeded"))

    # Each event twice: the inbox makes the redelivery a no-op.
    await orders.send(reserved, captured, refused, reserved, captured, refused)
    outcomes = [
        (await client.get(f"/orders/{order_id}", params={"wait": 30})).json() for order_id in (confirmed, declined)
    ]

    assert [(order["status"], order["cancel_reason"]) for order in outcomes] == [
        ("CONFIRMED", None),
        ("CANCELLED", "payment_declined"),
    ]
    records = await read_all(orders.kafka, orders.kafka.topic("orders"), expected=4)
    by_order: dict[bytes, list[EventData]] = {}
    for record in records:
        by_order.setdefault(record.key, []).append(from_record(list(record.headers), record.value).data)
    # Per order key: the placement, then exactly one outcome (the relay publishes in outbox order).
    [placed, outcome] = by_order[str(confirmed).encode()]
    assert isinstance(placed, OrderPlaced)
    assert outcome == OrderConfirmed(order_id=confirmed)
    [placed, outcome] = by_order[str(declined).encode()]
    assert isinstance(placed, OrderPlaced)
    assert outcome == OrderCancelled(order_id=declined, reason=CancelReason.PAYMENT_DECLINED, detail="limit exceeded")
    async with orders.context.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.outbox)) == 0  # published, purged
