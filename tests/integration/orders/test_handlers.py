"""The service layer against a real database: state and outbox rows together, races, duplicates."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.envelope import CloudEvent, from_record, new_event
from eventkit.errors import PermanentFailure
from eventkit.events import (
    CancelReason,
    EventData,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    PaymentCaptured,
    PaymentDeclined,
    StockRejected,
    StockReleased,
    StockReserved,
)
from eventkit.messaging import decode_headers
from services.orders import repository
from services.orders.commands import PlaceOrder
from services.orders.consumer import HANDLERS
from services.orders.handlers import (
    ConcurrentUpdate,
    IdempotencyKeyReused,
    cancel_stale_orders,
    place_order,
)
from services.orders.repository import order_lines, orders, tables
from tests.integration.orders.conftest import UowFactory

COMMAND = PlaceOrder(
    customer_id="c-1",
    currency="EUR",
    lines=(
        OrderLine(sku="MUG", quantity=2, unit_price=Decimal("12.50")),
        OrderLine(sku="TEA", quantity=1, unit_price=Decimal("0.99")),
    ),
)


def answer(data: EventData) -> CloudEvent:
    return new_event(data, source="/orderflow/test")


async def deliver(unit_of_work: UowFactory, *answers: EventData) -> None:
    """Each answer as a fresh event (a new id, so the inbox would not stop it), in its own transaction."""
    for data in answers:
        async with unit_of_work() as uow:
            await HANDLERS[type(data)](uow, answer(data))


async def outbox(sessions: async_sessionmaker[AsyncSession]) -> list[CloudEvent]:
    async with sessions() as session:
        rows = (await session.execute(select(tables.outbox).order_by(tables.outbox.c.id))).mappings()
        return [from_record(decode_headers(row["headers"]), row["value"]) for row in rows]


async def order_row(sessions: async_sessionmaker[AsyncSession], order_id: UUID) -> Any:
    async with sessions() as session:
        return (await session.execute(select(orders).where(orders.c.id == order_id))).mappings().one()


async def place(unit_of_work: UowFactory, command: PlaceOrder = COMMAND) -> UUID:
    async with unit_of_work() as uow:
        return (await place_order(uow, command)).order_id


async def test_placing_writes_the_order_its_lines_and_its_event_in_one_transaction(
    unit_of_work: UowFactory, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order_id = await place(unit_of_work)

    row = await order_row(sessions, order_id)
    assert (row["status"], row["total"], row["currency"], row["version"]) == ("PENDING", Decimal("25.99"), "EUR", 1)
    assert row["created_at"].tzinfo is not None
    async with sessions() as session:
        lines = (await session.execute(select(order_lines).order_by(order_lines.c.line_no))).mappings().all()
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in lines] == [
        ("MUG", 2, Decimal("12.50")),
        ("TEA", 1, Decimal("0.99")),
    ]
    [event] = await outbox(sessions)
    assert event.data == COMMAND.placed(order_id)
    assert event.subject == str(order_id)


async def test_a_rolled_back_placement_leaves_neither_order_nor_event(
    unit_of_work: UowFactory, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async def place_then_fail() -> None:
        async with unit_of_work() as uow:
            await place_order(uow, COMMAND)
            await uow.flush()  # the outbox row is written, then the transaction rolls back
            raise RuntimeError("after placing")

    with pytest.raises(RuntimeError, match="after placing"):
        await place_then_fail()

    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(orders)) == 0
    assert await outbox(sessions) == []


@pytest.mark.parametrize("first", ["stock", "payment"])
async def test_both_positive_answers_confirm_once(
    unit_of_work: UowFactory, sessions: async_sessionmaker[AsyncSession], first: str
) -> None:
    order_id = await place(unit_of_work)
    reserved = StockReserved(order_id=order_id, items=[{"sku": "MUG", "quantity": 2}, {"sku": "TEA", "quantity": 1}])
    captured = PaymentCaptured(order_id=order_id, payment_id="p-1", amount=Decimal("25.99"), currency="EUR")

    answers = [reserved, captured] if first == "stock" else [captured, reserved]
    await deliver(unit_of_work, *answers, *answers)  # business-level duplicates with fresh event ids

    row = await order_row(sessions, order_id)
    assert (row["status"], row["stock_answer"], row["payment_answer"]) == ("CONFIRMED", "reserved", "captured")
    assert [event.data for event in await outbox(sessions)][1:] == [OrderConfirmed(order_id=order_id)]


async def test_out_of_stock_cancels_and_a_later_capture_emits_nothing_more(
    unit_of_work: UowFactory, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order_id = await place(unit_of_work)

    await deliver(
        unit_of_work,
        StockRejected(order_id=order_id, short_skus=["MUG"]),
        PaymentCaptured(order_id=order_id, payment_id="p-1", amount=Decimal("25.99"), currency="EUR"),
        StockReleased(order_id=order_id),
    )

    row = await order_row(sessions, order_id)
    assert (row["status"], row["cancel_reason"], row["cancel_detail"]) == (
        "CANCELLED",
        "out_of_stock",
        "short SKUs: MUG",
    )
    assert row["payment_answer"] == "captured"  # payments refunds it on the OrderCancelled below
    assert [event.data for event in await outbox(sessions)][1:] == [
        OrderCancelled(order_id=order_id, reason=CancelReason.OUT_OF_STOCK, detail="short SKUs: MUG")
    ]


async def test_an_answer_for_an_unknown_order_is_a_permanent_failure(unit_of_work: UowFactory) -> None:
    with pytest.raises(PermanentFailure, match="no order"):
        await deliver(unit_of_work, PaymentDeclined(order_id=uuid4(), reason="card expired"))


async def test_a_handler_fed_the_wrong_event_type_is_a_permanent_failure(unit_of_work: UowFactory) -> None:
    order_id = await place(unit_of_work)
    with pytest.raises(PermanentFailure, match="not an answer"):
        async with unit_of_work() as uow:
            await HANDLERS[StockReserved](uow, answer(COMMAND.placed(order_id)))


async def test_a_save_over_a_stale_version_loses_and_the_handler_asks_for_a_retry(
    unit_of_work: UowFactory, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order_id = await place(unit_of_work)
    async with sessions() as session:
        stale = await repository.load(session, order_id)
    assert stale is not None
    await deliver(unit_of_work, StockReserved(order_id=order_id, items=[{"sku": "MUG", "quantity": 2}]))

    async with unit_of_work() as uow:
        assert not await repository.save(uow.session, stale, stale.order, datetime.now(UTC))

    async def load_stale(session: AsyncSession, _: UUID) -> repository.Stored:
        return stale

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(repository, "load", load_stale)
        with pytest.raises(ConcurrentUpdate):
            await deliver(unit_of_work, PaymentDeclined(order_id=order_id, reason="card expired"))
    assert [type(event.data) for event in await outbox(sessions)] == [OrderPlaced]  # the loser staged nothing


async def test_the_sweeper_cancels_only_stale_pending_orders_once(
    unit_of_work: UowFactory, sessions: async_sessionmaker[AsyncSession]
) -> None:
    stale, confirmed = await place(unit_of_work), await place(unit_of_work)
    await deliver(
        unit_of_work,
        StockReserved(order_id=confirmed, items=[{"sku": "MUG", "quantity": 2}]),
        PaymentCaptured(order_id=confirmed, payment_id="p-1", amount=Decimal("25.99"), currency="EUR"),
    )
    cutoff = datetime.now(UTC)
    await asyncio.sleep(0.01)
    fresh = await place(unit_of_work)

    async with unit_of_work() as uow:
        assert await cancel_stale_orders(uow, cutoff) == 1
    async with unit_of_work() as uow:
        assert await cancel_stale_orders(uow, cutoff) == 0

    assert (await order_row(sessions, stale))["cancel_reason"] == "timeout"
    assert (await order_row(sessions, fresh))["status"] == "PENDING"
    cancels = [event.data for event in await outbox(sessions) if isinstance(event.data, OrderCancelled)]
    assert [(data.order_id, data.reason) for data in cancels] == [(stale, CancelReason.TIMEOUT)]


async def test_the_same_idempotency_key_and_body_returns_the_same_order(
    unit_of_work: UowFactory, sessions: async_sessionmaker[AsyncSession]
) -> None:
    keyed = PlaceOrder(COMMAND.customer_id, COMMAND.currency, COMMAND.lines, idempotency_key="k-1")

    first, second = await place(unit_of_work, keyed), await place(unit_of_work, keyed)

    assert first == second
    assert [type(event.data) for event in await outbox(sessions)] == [OrderPlaced]


async def test_the_same_idempotency_key_with_another_body_is_refused(unit_of_work: UowFactory) -> None:
    await place(unit_of_work, PlaceOrder("c-1", "EUR", COMMAND.lines, idempotency_key="k-1"))

    with pytest.raises(IdempotencyKeyReused, match="k-1"):
        await place(unit_of_work, PlaceOrder("c-2", "EUR", COMMAND.lines, idempotency_key="k-1"))


async def test_racing_requests_with_one_key_create_one_order(
    unit_of_work: UowFactory, sessions: async_sessionmaker[AsyncSession]
) -> None:
    keyed = PlaceOrder(COMMAND.customer_id, COMMAND.currency, COMMAND.lines, idempotency_key="k-race")

    ids = await asyncio.gather(*(place(unit_of_work, keyed) for _ in range(8)))

    assert len(set(ids)) == 1
    assert len(await outbox(sessions)) == 1
