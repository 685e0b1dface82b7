"""Inventory with its consumer and relay on a real broker: orders in, reservations and releases out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eventkit.consumer import ConsumerOptions
from eventkit.events import CancelReason, Reservation, StockRejected, StockReleased, StockReserved
from eventkit.host.settings import ServiceSettings
from services.inventory.app import create_app
from tests.support.events import cancelled, placed
from tests.support.kafka import KafkaCluster
from tests.support.services import RunningService, running_service

pytestmark = pytest.mark.kafka


@pytest.fixture
async def inventory(migrated_url: str, kafka: KafkaCluster) -> AsyncIterator[RunningService]:
    settings = await kafka.isolated(partitions=3, retry_levels=1)
    options = ServiceSettings(database_url=migrated_url, consumer=ConsumerOptions(retry_levels=1))
    async with running_service(create_app(options, kafka=settings), settings) as service:
        yield service


async def test_orders_are_reserved_or_rejected_once_and_a_cancellation_releases(inventory: RunningService) -> None:
    await inventory.client.put("/stock/MUG", json={"available": 3})
    fits, too_big = placed("c-1", ("MUG", 2, "1.00")), placed("c-1", ("MUG", 4, "1.00"))

    await inventory.send(fits, too_big, fits)  # `fits` redelivered
    # The two orders travel on different partitions, so their answers may come in either order.
    by_order = {answer.order_id: answer for answer in await inventory.answers(expected=2)}
    assert by_order == {
        fits.data.order_id: StockReserved(order_id=fits.data.order_id, items=[Reservation(sku="MUG", quantity=2)]),
        too_big.data.order_id: StockRejected(order_id=too_big.data.order_id, short_skus=["MUG"]),
    }

    cancel = CancelReason.PAYMENT_DECLINED
    await inventory.send(cancelled(fits.data.order_id, cancel), cancelled(fits.data.order_id, cancel))
    assert (await inventory.answers(expected=3))[2:] == [StockReleased(order_id=fits.data.order_id)]
    assert (await inventory.client.get("/stock/MUG")).json() == {"sku": "MUG", "available": 3, "reserved": 0}
