"""The orders batch handler on a migrated database: answers folded in order, one save per order."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.consumer import EventFailed
from eventkit.errors import PermanentFailure
from eventkit.events import OrderConfirmed, PaymentCaptured, PaymentDeclined, Reservation, StockReserved
from services.orders import repository
from services.orders.handlers import on_answers
from services.orders.repository import tables
from tests.integration.orders.conftest import UowFactory
from tests.integration.orders.test_handlers import answer, order_row, place
from tests.support.databases import batch_runner

Sessions = async_sessionmaker[AsyncSession]
handle_batch = batch_runner("orders", tables)
LINES = [Reservation(sku="MUG", quantity=2)]


async def test_both_answers_in_one_batch_confirm_once(sessions: Sessions, unit_of_work: UowFactory) -> None:
    confirmed, declined = await place(unit_of_work), await place(unit_of_work)
    events = [
        answer(StockReserved(order_id=confirmed, items=LINES)),
        answer(PaymentDeclined(order_id=declined, reason="card declined")),
        answer(PaymentCaptured(order_id=confirmed, payment_id="p-1", amount="26.00", currency="EUR")),
        answer(StockReserved(order_id=declined, items=LINES)),
    ]
    published = await handle_batch(sessions, on_answers, events)

    assert [type(data).__name__ for data in published] == ["OrderCancelled", "OrderConfirmed"]
    assert published[1] == OrderConfirmed(order_id=confirmed)
    row = await order_row(sessions, confirmed)
    assert (row["status"], row["stock_answer"], row["payment_answer"], row["version"]) == (
        "CONFIRMED",
        "reserved",
        "captured",
        2,
    )
    assert (await order_row(sessions, declined))["status"] == "CANCELLED"


async def test_an_answer_for_no_order_fails_its_event_only(sessions: Sessions) -> None:
    stray = answer(StockReserved(order_id=uuid4(), items=LINES))
    with pytest.raises(EventFailed) as failed:
        await handle_batch(sessions, on_answers, [stray])
    assert failed.value.event == stray
    assert isinstance(failed.value.error, PermanentFailure)


async def test_a_save_finds_a_row_that_moved_and_writes_nothing(sessions: Sessions, unit_of_work: UowFactory) -> None:
    order_id = await place(unit_of_work)
    async with sessions.begin() as session:
        stored = (await repository.load_many(session, [order_id]))[order_id]
        assert await repository.save(session, stored, stored.order, datetime.now(UTC))  # version 1 -> 2
        assert not await repository.save_many(session, [(stored, stored.order)], datetime.now(UTC))
    assert (await order_row(sessions, order_id))["version"] == 2
