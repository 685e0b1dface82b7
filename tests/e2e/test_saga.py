"""The saga end to end on a real broker: three services, their databases, the outbox relays and consumers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from devstack.postgres import LocalPostgres
from tests.support.kafka import KafkaCluster
from tests.support.stack import DatabaseUrl, LocalStack, running_stack, sqlite_urls
from tests.support.waiting import equals

pytestmark = pytest.mark.kafka


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseUrl:
    """Every saga test runs on SQLite files and on a real PostgreSQL server (a database per service)."""
    if request.param == "sqlite":
        return sqlite_urls(tmp_path)
    server: LocalPostgres = request.getfixturevalue("postgres")
    run = uuid.uuid4().hex[:8]
    return lambda service: server.url(f"{service}_{run}")


@pytest.fixture
async def stack(kafka: KafkaCluster, databases: DatabaseUrl) -> AsyncIterator[LocalStack]:
    settings = await kafka.isolated(partitions=3, retry_levels=3)
    async with running_stack(settings, databases) as running:
        yield running


async def test_an_order_with_stock_and_credit_is_confirmed_and_charged_once(stack: LocalStack) -> None:
    await stack.set_stock("SKU-A", 10)
    order_id = await stack.place("alice", ("SKU-A", 2, "9.50"), ("SKU-A", 1, "1.00"))

    order = await stack.outcome(order_id)

    assert order["status"] == "CONFIRMED"
    assert await stack.stock("SKU-A") == {"sku": "SKU-A", "available": 7, "reserved": 3}
    assert await stack.net_charged("alice") == Decimal("20.00")


async def test_out_of_stock_cancels_and_refunds_the_payment(stack: LocalStack) -> None:
    await stack.set_stock("SKU-B", 1)
    order_id = await stack.place("bob", ("SKU-B", 5, "3.00"))

    order = await stack.outcome(order_id)

    assert order["status"] == "CANCELLED"
    assert order["cancel_reason"] == "out_of_stock"
    assert "SKU-B" in order["cancel_detail"]
    await equals(lambda: stack.net_charged("bob"), Decimal(0))
    assert (await stack.stock("SKU-B"))["available"] == 1


async def test_a_declined_payment_cancels_and_releases_the_stock(stack: LocalStack) -> None:
    await stack.set_stock("SKU-C", 4)
    order_id = await stack.place("decline-carol", ("SKU-C", 3, "2.00"))

    order = await stack.outcome(order_id)

    assert order["status"] == "CANCELLED"
    assert order["cancel_reason"] == "payment_declined"
    await equals(lambda: stack.stock("SKU-C"), {"sku": "SKU-C", "available": 4, "reserved": 0})
    assert await stack.net_charged("decline-carol") == Decimal(0)


async def test_concurrent_orders_for_the_last_unit_confirm_exactly_one(stack: LocalStack) -> None:
    await stack.set_stock("SKU-LAST", 1)
    order_ids = await asyncio.gather(*(stack.place(f"racer-{n}", ("SKU-LAST", 1, "5.00")) for n in range(8)))

    outcomes = await asyncio.gather(*(stack.outcome(order_id) for order_id in order_ids))

    assert sorted(order["status"] for order in outcomes) == ["CANCELLED"] * 7 + ["CONFIRMED"]
    await equals(lambda: stack.stock("SKU-LAST"), {"sku": "SKU-LAST", "available": 0, "reserved": 1})


async def test_a_service_stopped_mid_flow_and_restarted_leaves_every_order_terminal(
    kafka: KafkaCluster, databases: DatabaseUrl
) -> None:
    settings = await kafka.isolated(partitions=3, retry_levels=3)
    async with running_stack(settings, databases, payments_failure_rate=0.3) as stack:
        await stack.set_stock("SKU-R", 30)
        await stack.stop("payments")
        order_ids = [await stack.place(f"restart-{n % 5}", ("SKU-R", 1, "4.00")) for n in range(40)]
        await stack.start("payments")

        outcomes = await asyncio.gather(*(stack.outcome(order_id, timeout=120) for order_id in order_ids))

        confirmed = [order for order in outcomes if order["status"] == "CONFIRMED"]
        # Every order pays (transient failures only) and none times out, so nothing is ever given back.
        assert len(confirmed) == 30, "stock allows exactly 30 of the 40"
        await equals(lambda: stack.stock("SKU-R"), {"sku": "SKU-R", "available": 0, "reserved": 30})

        async def net_charged() -> Decimal:
            return sum([await stack.net_charged(f"restart-{n}") for n in range(5)], Decimal(0))

        # Charged once per confirmed order; refunds of the cancelled ones land after their cancellation.
        await equals(net_charged, Decimal("4.00") * len(confirmed))
