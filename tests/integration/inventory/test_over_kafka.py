"""Inventory with its consumer and relay on a real broker: orders in, reservations and releases out."""

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
    Reservation,
    StockRejected,
    StockReleased,
    StockReserved,
)
from eventkit.service import ServiceContext, ServiceSettings
from eventkit.settings import KafkaSettings
from services.inventory.app import create_app
from tests.conftest import KafkaCluster
from tests.integration.kafka_helpers import read_all

pytestmark = pytest.mark.kafka


@pytest.fixture
async def stack(
    migrated_url: str, kafka: KafkaCluster
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI, KafkaSettings]]:
    settings = await kafka.isolated(partitions=3, retry_levels=1)
    options = ServiceSettings(database_url=migrated_url, consumer=ConsumerOptions(retry_levels=1))
    app = create_app(options, settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inventory") as client,
    ):
        deadline = time.monotonic() + 60
        # Ready once the consumer joined its group, so nothing sent from now on is missed.
        while (await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, (await client.get("/readyz")).json()
            await asyncio.sleep(0.2)
        yield client, app, settings


def placed(*lines: tuple[str, int]) -> CloudEvent:
    items = [OrderLine(sku=sku, quantity=quantity, unit_price=Decimal("1.00")) for sku, quantity in lines]
    total = Decimal(sum(quantity for _, quantity in lines))
    data = OrderPlaced(order_id=uuid4(), customer_id="c-1", items=items, currency="EUR", total=total)
    return new_event(data, source="/tests")


async def send(app: FastAPI, settings: KafkaSettings, *events: CloudEvent) -> None:
    context: ServiceContext = app.state.context
    await context.producer.send_all((settings.topic(event.data.TOPIC), to_record(event)) for event in events)


async def answers(settings: KafkaSettings, expected: int) -> list[EventData]:
    records = await read_all(settings, settings.topic("inventory"), expected=expected)
    return [from_record(list(record.headers), record.value).data for record in records]


async def test_orders_are_reserved_or_rejected_once_and_a_cancellation_releases(
    stack: tuple[httpx.AsyncClient, FastAPI, KafkaSettings],
) -> None:
    client, app, settings = stack
    await client.put("/stock/MUG", json={"available": 3})
    fits, too_big = placed(("MUG", 2)), placed(("MUG", 4))

    await send(app, settings, fits, too_big, fits)  # `fits` redelivered
    # The two orders travel on different partitions, so their answers may come in either order.
    by_order = {answer.order_id: answer for answer in await answers(settings, expected=2)}
    assert by_order == {
        fits.data.order_id: StockReserved(order_id=fits.data.order_id, items=[Reservation(sku="MUG", quantity=2)]),
        too_big.data.order_id: StockRejected(order_id=too_big.data.order_id, short_skus=["MUG"]),
    }

    cancel = OrderCancelled(order_id=fits.data.order_id, reason=CancelReason.PAYMENT_DECLINED)
    await send(app, settings, new_event(cancel, source="/tests"), new_event(cancel, source="/tests"))
    assert (await answers(settings, expected=3))[2:] == [StockReleased(order_id=fits.data.order_id)]
    assert (await client.get("/stock/MUG")).json() == {"sku": "MUG", "available": 3, "reserved": 0}
