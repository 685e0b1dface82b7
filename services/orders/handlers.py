"""The service layer: load, decide, save and publish, all inside the caller's unit of work.

`place_order` runs for an HTTP request; `on_stock_answer` and `on_payment_answer` run inside the consumer's
batch transaction (the runtime has already skipped redelivered event ids); `cancel_stale_orders` runs for the
timeout sweeper. Every published event lands in the outbox in the same transaction as the state it announces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from eventkit.envelope import CloudEvent, new_event
from eventkit.errors import PermanentFailure
from eventkit.events import (
    EventData,
    PaymentCaptured,
    PaymentDeclined,
    PaymentRefunded,
    StockRejected,
    StockReleased,
    StockReserved,
)
from eventkit.messaging import UnitOfWork
from services.orders import repository
from services.orders.commands import PlaceOrder
from services.orders.domain import Answer, OrderStatus, PendingTimeout, decide

SOURCE = "/orderflow/orders"


class IdempotencyKeyReused(Exception):
    """The idempotency key belongs to an order placed with a different request body."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used for a different order")


class ConcurrentUpdate(Exception):
    """Someone else changed the order between load and save; retrying decides on the fresh state."""


@dataclass(frozen=True)
class PlacedOrder:
    order_id: UUID
    status: OrderStatus


async def place_order(uow: UnitOfWork, command: PlaceOrder) -> PlacedOrder:
    """Store a new PENDING order and stage its `OrderPlaced`, or return the order its idempotency key made."""
    order_id = uuid4()
    if await repository.add(uow.session, order_id, command, datetime.now(UTC)):
        uow.publish(new_event(command.placed(order_id), source=SOURCE))
        return PlacedOrder(order_id, OrderStatus.PENDING)
    assert command.idempotency_key is not None  # only a taken key makes the insert skip
    existing = await repository.by_idempotency_key(uow.session, command.idempotency_key)
    assert existing is not None  # the key is unique and rows are never deleted
    if existing["request_hash"] != command.fingerprint():
        raise IdempotencyKeyReused(command.idempotency_key)
    return PlacedOrder(existing["id"], OrderStatus(existing["status"]))


async def on_stock_answer(uow: UnitOfWork, event: CloudEvent) -> None:
    data = event.data
    if not isinstance(data, StockReserved | StockRejected | StockReleased):
        raise _not_an_answer(data)
    await _apply(uow, data.order_id, data)


async def on_payment_answer(uow: UnitOfWork, event: CloudEvent) -> None:
    data = event.data
    if not isinstance(data, PaymentCaptured | PaymentDeclined | PaymentRefunded):
        raise _not_an_answer(data)
    await _apply(uow, data.order_id, data)


async def cancel_stale_orders(uow: UnitOfWork, created_before: datetime, limit: int = 500) -> int:
    """Cancel up to `limit` orders still PENDING that were created before `created_before`; how many."""
    cancelled = 0
    for stored in await repository.stale(uow.session, created_before, limit):
        decision = decide(stored.order, PendingTimeout())
        # Losing the race to an answer is fine: that answer decided the order, nothing to time out.
        if decision.event and await repository.save(uow.session, stored, decision.order, datetime.now(UTC)):
            uow.publish(new_event(decision.event, source=SOURCE))
            cancelled += 1
    return cancelled


async def _apply(uow: UnitOfWork, order_id: UUID, answer: Answer) -> None:
    stored = await repository.load(uow.session, order_id)
    if stored is None:
        # Answers only exist for published OrderPlaced events, which only exist for committed orders.
        raise PermanentFailure(f"no order {order_id} in the orders database")
    decision = decide(stored.order, answer)
    if decision.order == stored.order:
        return  # a duplicate: nothing new to record
    if not await repository.save(uow.session, stored, decision.order, datetime.now(UTC)):
        raise ConcurrentUpdate(f"order {order_id} changed while handling {type(answer).__name__}")
    if decision.event is not None:
        uow.publish(new_event(decision.event, source=SOURCE))


def _not_an_answer(data: EventData) -> PermanentFailure:
    return PermanentFailure(f"{data.TYPE} is not an answer this handler takes")
