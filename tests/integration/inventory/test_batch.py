"""Inventory's batch handler on a migrated database: the same effects as the per-event handlers, fewer statements."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.events import Reservation, StockReleased, StockReserved
from services.inventory import repository
from services.inventory.domain import Plan, StockLevel
from services.inventory.handlers import on_orders, release_stock, reserve_stock
from services.inventory.repository import tables
from tests.integration.inventory.test_handlers import cancelled, handle, level, placed, stock
from tests.support.databases import batch_runner

Sessions = async_sessionmaker[AsyncSession]
handle_batch = batch_runner("inventory", tables)


async def test_a_batch_reserves_rejects_and_releases_like_the_events_one_by_one(sessions: Sessions) -> None:
    await stock(sessions, A=3, B=1)
    first, second, late = placed(("A", 2), ("B", 1)), placed(("A", 2)), placed(("A", 1))
    answers = await handle_batch(sessions, on_orders, [first, second, cancelled(first.data.order_id), late])

    assert [type(answer).__name__ for answer in answers] == [
        "StockReserved",
        "StockRejected",
        "StockReleased",
        "StockReserved",
    ]
    assert await level(sessions, "A") == StockLevel(sku="A", available=2, reserved=1)
    assert await level(sessions, "B") == StockLevel(sku="B", available=1, reserved=0)


async def test_a_batch_after_single_events_sees_what_they_recorded(sessions: Sessions) -> None:
    await stock(sessions, A=2)
    order = placed(("A", 2))
    await handle(sessions, reserve_stock, order)

    answers = await handle_batch(sessions, on_orders, [order, cancelled(order.data.order_id)])

    assert answers == [StockReleased(order_id=order.data.order_id)]
    assert await level(sessions, "A") == StockLevel(sku="A", available=2, reserved=0)
    assert await handle(sessions, release_stock, cancelled(order.data.order_id)) == []  # released once only


async def test_stock_that_moved_under_a_plan_fails_it(sessions: Sessions) -> None:
    await stock(sessions, A=1)
    async with sessions.begin() as session:
        with pytest.raises(repository.StockMoved):
            await repository.apply(session, Plan(stock_delta={"A": -2}), datetime.now(UTC))
    order = placed(("A", 1))
    assert await handle_batch(sessions, on_orders, [order]) == [
        StockReserved(order_id=order.data.order_id, items=[Reservation(sku="A", quantity=1)])
    ]
    assert await level(sessions, "A") == StockLevel(sku="A", available=0, reserved=1)
