"""The orders service with its consumer and relay on a real broker, inventory and payments played by the test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from eventkit.consumer import ConsumerOptions
from eventkit.envelope import CloudEvent, from_record, new_event, to_record
from eventkit.events import (
    CancelReason,
    EventData,
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
    PaymentCaptured,
    PaymentDeclined,
    StockReserved,
)
from eventkit.service import ServiceContext
from eventkit.settings import KafkaSettings
from services.orders.app import create_app
from services.orders.repository import tables
from services.orders.settings import OrdersSettings
from tests.conftest import KafkaCluster
from tests.integration.kafka_helpers import read_all

pytestmark = pytest.mark.kafka

BODY = {"customer_id": "c-1", "currency": "EUR", "items": [{"sku": "MUG", "quantity": 2, "unit_price": "12.50"}]}


@pytest.fixture
async def stack(database_url: str, kafka: KafkaCluster) -> AsyncIterator[tuple[FastAPI, KafkaSettings]]:
    settings = await kafka.isolated(partitions=3, retry_levels=1)
    options = OrdersSettings(database_url=database_url, consumer=ConsumerOptions(retry_levels=1))
    app = create_app(options, kafka=settings)
    async with app.router.lifespan_context(app):
        yield app, settings


async def ready(client: httpx.AsyncClient, timeout: float = 60.0) -> None:
    """The consumer joined its group, so nothing sent from now on is missed."""
    deadline = time.monotonic() + timeout
    while (await client.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, (await client.get("/readyz")).json()
        await asyncio.sleep(0.2)


async def send(app: FastAPI, settings: KafkaSettings, *events: CloudEvent) -> None:
    context: ServiceContext = app.state.context
    await context.producer.send_all((settings.topic(event.data.TOPIC), to_record(event)) for event in events)


def event(data: EventData) -> CloudEvent:
    return new_event(data, source="/orderflow/test")


async def orders_topic(settings: KafkaSettings, expected: int) -> list[tuple[bytes, EventData]]:
    records = await read_all(settings, settings.topic("orders"), expected=expected)
    return [(record.key, from_record(list(record.headers), record.value).data) for record in records]


async def test_answers_over_kafka_confirm_or_cancel_and_each_outcome_is_published_once(
    stack: tuple[FastAPI, KafkaSettings],
) -> None:
    app, settings = stack
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders") as client:
        await ready(client)
        confirmed = UUID((await client.post("/orders", json=BODY)).json()["order_id"])
        declined = UUID((await client.post("/orders", json=BODY)).json()["order_id"])
        reserved = event(StockReserved(order_id=confirmed, items=[{"sku": "MUG", "quantity": 2}]))
        captured = event(PaymentCaptured(order_id=confirmed, payment_id="p-1", amount=Decimal("25.00"), currency="EUR"))
        refused = event(PaymentDeclined(order_id=declined, reason="limit exceeded"))

        # Each event twice: the inbox makes the redelivery a no-op.
        await send(app, settings, reserved, captured, refused, reserved, captured, refused)
        outcomes = [
            (await client.get(f"/orders/{order_id}", params={"wait": 30})).json() for order_id in (confirmed, declined)
        ]

    assert [(order["status"], order["cancel_reason"]) for order in outcomes] == [
        ("CONFIRMED", None),
        ("CANCELLED", "payment_declined"),
    ]
    published = await orders_topic(settings, expected=4)
    by_order: dict[bytes, list[EventData]] = {}
    for key, data in published:
        by_order.setdefault(key, []).append(data)
    # Per order key: the placement, then exactly one outcome (the relay publishes in outbox order).
    [placed, outcome] = by_order[str(confirmed).encode()]
    assert isinstance(placed, OrderPlaced)
    assert outcome == OrderConfirmed(order_id=confirmed)
    [placed, outcome] = by_order[str(declined).encode()]
    assert isinstance(placed, OrderPlaced)
    assert outcome == OrderCancelled(order_id=declined, reason=CancelReason.PAYMENT_DECLINED, detail="limit exceeded")
    context: ServiceContext = app.state.context
    async with context.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.outbox)) == 0  # published, purged
