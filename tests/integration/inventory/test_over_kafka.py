"""Inventory with its consumer and relay on a real broker: orders in, reservations and releases out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest

from eventkit.consumer import ConsumerOptions
from eventkit.events import CancelReason, Reservation, StockRejected, StockReleased, StockReserved
from eventkit.host.settings import ServiceSettings
from eventkit.topics import create_topics, topic_plan
from services.inventory.app import create_app
from tests.support.events import cancelled, placed
from tests.support.kafka import KafkaCluster
from tests.support.services import RunningService, running_service, until_ready

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
    # Partitions are read in any order: pick the release out, and prove there is one only.
    answers = await inventory.answers(expected=3)
    assert [a for a in answers if isinstance(a, StockReleased)] == [StockReleased(order_id=fits.data.order_id)]
    assert (await inventory.client.get("/stock/MUG")).json() == {"sku": "MUG", "available": 3, "reserved": 0}


async def test_readiness_names_the_topics_that_do_not_exist(migrated_url: str, kafka: KafkaCluster) -> None:
    # A namespace in which no topic was created: as a cluster where nobody provisioned them.
    settings = kafka.settings.model_copy(update={"namespace": f"bare{uuid4().hex[:8]}."})
    options = ServiceSettings(database_url=migrated_url, consumer=ConsumerOptions(retry_levels=1))
    app = create_app(options, kafka=settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inventory") as client,
    ):
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["problems"]["kafka"].startswith(
        f"missing topics: {settings.topic('orders')}, {settings.topic('orders.retry.1')}"
    )


async def test_topics_created_after_the_start_are_consumed_once_they_exist(
    migrated_url: str, kafka: KafkaCluster
) -> None:
    """What a cluster without a topic operator saw: the consumer subscribed before the topics existed."""
    settings = kafka.settings.model_copy(update={"namespace": f"late{uuid4().hex[:8]}."})
    consumer = ConsumerOptions(retry_levels=1, metadata_refresh_seconds=1)
    app = create_app(ServiceSettings(database_url=migrated_url, consumer=consumer), kafka=settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inventory") as client,
    ):
        await create_topics(settings, topic_plan(settings, partitions=3, retry_levels=1))
        await until_ready(client)  # the topics exist, and the group joined with them
        inventory = RunningService(app, client, settings)
        await client.put("/stock/LATE", json={"available": 1})
        order = placed("c-1", ("LATE", 1, "1.00"))
        await inventory.send(order)
        assert await inventory.answers(expected=1) == [
            StockReserved(order_id=order.data.order_id, items=[Reservation(sku="LATE", quantity=1)])
        ]
