"""Inventory handlers on a migrated database: all-or-nothing reservation, release, duplicates, reordering."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.envelope import CloudEvent, new_event
from eventkit.events import (
    CancelReason,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    Reservation,
    StockRejected,
    StockReleased,
    StockReserved,
)
from services.inventory import repository
from services.inventory.domain import StockLevel
from services.inventory.handlers import release_stock, reserve_stock
from services.inventory.repository import tables
from tests.support.databases import handler_runner

Sessions = async_sessionmaker[AsyncSession]


def placed(*lines: tuple[str, int], order_id: UUID | None = None) -> CloudEvent:
    items = [OrderLine(sku=sku, quantity=quantity, unit_price=Decimal("1.50")) for sku, quantity in lines]
    total = sum((item.unit_price * item.quantity for item in items), Decimal(0))
    data = OrderPlaced(order_id=order_id or uuid4(), customer_id="c-1", items=items, currency="EUR", total=total)
    return new_event(data, source="/tests")


def cancelled(order_id: UUID) -> CloudEvent:
    return new_event(OrderCancelled(order_id=order_id, reason=CancelReason.PAYMENT_DECLINED), source="/tests")


handle = handler_runner("inventory", tables)


async def stock(sessions: Sessions, **levels: int) -> None:
    async with sessions.begin() as session:
        for sku, available in levels.items():
            await repository.set_available(session, sku, available)


async def level(sessions: Sessions, sku: str) -> StockLevel | None:
    async with sessions() as session:
        return await repository.stock_level(session, sku)


async def test_an_order_reserves_every_line_and_announces_it(sessions: Sessions) -> None:
    await stock(sessions, A=5, B=3)
    event = placed(("B", 3), ("A", 1), ("A", 1))

    [answer] = await handle(sessions, reserve_stock, event)

    assert answer == StockReserved(
        order_id=event.data.order_id, items=[Reservation(sku="A", quantity=2), Reservation(sku="B", quantity=3)]
    )
    assert await level(sessions, "A") == StockLevel("A", available=3, reserved=2)
    assert await level(sessions, "B") == StockLevel("B", available=0, reserved=3)


async def test_one_short_line_rejects_the_whole_order_naming_every_short_sku(sessions: Sessions) -> None:
    await stock(sessions, A=5, B=1)
    event = placed(("A", 2), ("B", 2), ("UNKNOWN", 1))

    [answer] = await handle(sessions, reserve_stock, event)

    assert answer == StockRejected(order_id=event.data.order_id, short_skus=["B", "UNKNOWN"])
    assert await level(sessions, "A") == StockLevel("A", available=5, reserved=0)
    assert await level(sessions, "B") == StockLevel("B", available=1, reserved=0)


async def test_concurrent_orders_for_the_last_unit_reserve_it_exactly_once(sessions: Sessions) -> None:
    await stock(sessions, LAST=1)

    answers = await asyncio.gather(*(handle(sessions, reserve_stock, placed(("LAST", 1))) for _ in range(8)))

    kinds = sorted(type(answer).__name__ for [answer] in answers)
    assert kinds == ["StockRejected"] * 7 + ["StockReserved"]
    assert await level(sessions, "LAST") == StockLevel("LAST", available=0, reserved=1)


async def test_concurrent_overlapping_orders_conserve_stock(sessions: Sessions) -> None:
    initial = {"X": 7, "Y": 5, "Z": 3}
    await stock(sessions, **initial)
    shapes = [(("X", 2), ("Y", 1)), (("Z", 1), ("X", 1)), (("Y", 2), ("Z", 2), ("X", 1))]
    orders = [placed(*shapes[n % len(shapes)]) for n in range(12)]

    answers = await asyncio.gather(*(handle(sessions, reserve_stock, order) for order in orders))

    reserved = [answer for [answer] in answers if isinstance(answer, StockReserved)]
    assert reserved, "some orders fit the stock"
    assert len(reserved) < len(orders), "not all orders fit the stock"
    for sku, quantity in initial.items():
        current = await level(sessions, sku)
        assert current is not None
        held = sum(line.quantity for answer in reserved for line in answer.items if line.sku == sku)
        assert current.available >= 0
        assert current.reserved == held
        assert current.available + current.reserved == quantity


async def test_a_duplicate_placement_under_a_new_event_id_reserves_nothing_more(sessions: Sessions) -> None:
    await stock(sessions, A=5)
    first = placed(("A", 2))
    again = placed(("A", 2), order_id=first.data.order_id)

    await handle(sessions, reserve_stock, first)
    assert await handle(sessions, reserve_stock, again) == []

    assert await level(sessions, "A") == StockLevel("A", available=3, reserved=2)


async def test_racing_duplicates_of_one_order_reserve_once_and_the_loser_retries_harmlessly(
    sessions: Sessions,
) -> None:
    await stock(sessions, A=5)
    first = placed(("A", 2))
    twin = placed(("A", 2), order_id=first.data.order_id)

    results = await asyncio.gather(
        handle(sessions, reserve_stock, first), handle(sessions, reserve_stock, twin), return_exceptions=True
    )

    # Both may pass the "seen before?" check; the reservation's primary key fails the later one, which rolls
    # back its stock change and is retried by the consumer, then finds the order handled.
    failures = [result for result in results if isinstance(result, BaseException)]
    assert all(isinstance(failure, IntegrityError) for failure in failures)
    assert await handle(sessions, reserve_stock, twin) == []
    assert await level(sessions, "A") == StockLevel("A", available=3, reserved=2)


async def test_a_cancellation_releases_the_stock_once(sessions: Sessions) -> None:
    await stock(sessions, A=5, B=2)
    order = placed(("A", 2), ("B", 2))
    await handle(sessions, reserve_stock, order)

    assert await handle(sessions, release_stock, cancelled(order.data.order_id)) == [
        StockReleased(order_id=order.data.order_id)
    ]
    assert await handle(sessions, release_stock, cancelled(order.data.order_id)) == []

    assert await level(sessions, "A") == StockLevel("A", available=5, reserved=0)
    assert await level(sessions, "B") == StockLevel("B", available=2, reserved=0)


async def test_cancelling_a_rejected_order_changes_nothing(sessions: Sessions) -> None:
    await stock(sessions, A=1)
    order = placed(("A", 2))
    await handle(sessions, reserve_stock, order)

    assert await handle(sessions, release_stock, cancelled(order.data.order_id)) == []
    assert await level(sessions, "A") == StockLevel("A", available=1, reserved=0)


async def test_a_cancellation_before_the_placement_leaves_a_tombstone(sessions: Sessions) -> None:
    await stock(sessions, A=5)
    order = placed(("A", 2))

    assert await handle(sessions, release_stock, cancelled(order.data.order_id)) == []
    # The placement was being retried and arrives late: the order is cancelled, so it reserves nothing and
    # answers nothing.
    assert await handle(sessions, reserve_stock, order) == []
    assert await handle(sessions, release_stock, cancelled(order.data.order_id)) == []

    assert await level(sessions, "A") == StockLevel("A", available=5, reserved=0)


async def test_setting_the_available_stock_keeps_what_orders_hold(sessions: Sessions) -> None:
    await stock(sessions, A=5)
    await handle(sessions, reserve_stock, placed(("A", 2)))

    await stock(sessions, A=10)

    assert await level(sessions, "A") == StockLevel("A", available=10, reserved=2)
    assert await level(sessions, "NEVER-STOCKED") is None


async def test_a_rolled_back_reservation_leaves_neither_stock_change_nor_event(sessions: Sessions) -> None:
    await stock(sessions, A=5)

    with pytest.raises(RuntimeError, match="crash"):
        await handle(sessions, reserve_stock, placed(("A", 1)), crash=True)

    assert await level(sessions, "A") == StockLevel("A", available=5, reserved=0)
    async with sessions() as session:
        assert (await session.execute(tables.outbox.select())).all() == []
