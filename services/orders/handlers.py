"""The service layer: load, decide, save and publish, all inside the caller's unit of work.

`place_orders` runs for concurrent HTTP requests (one for each, `place_order`); `on_answers` runs a consumer poll
batch inside its transaction (the runtime has already skipped redelivered event ids), and `on_stock_answer` and
`on_payment_answer` one event each when the runtime must isolate a failing one; `cancel_stale_orders` runs for
the timeout sweeper. Every published event lands in the outbox in the same transaction as the state it announces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from eventkit.consumer import EventFailed
from eventkit.envelope import CloudEvent, Headers, new_event
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
from eventkit.observability.spans import order_attributes
from services.orders import repository
from services.orders.commands import PlaceOrder
from services.orders.domain import Order, OrderStatus, PendingTimeout, decide

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


@dataclass(frozen=True)
class Placement:
    """A command to place an order, with the trace context of the request that gave it."""

    command: PlaceOrder
    trace: Headers = ()


async def place_order(uow: UnitOfWork, command: PlaceOrder) -> PlacedOrder:
    """Store a new PENDING order and stage its `OrderPlaced`, or return the order its idempotency key made."""
    [placed] = await place_orders(uow, [Placement(command)])
    if isinstance(placed, IdempotencyKeyReused):
        raise placed
    return placed


async def place_orders(uow: UnitOfWork, placements: Sequence[Placement]) -> list[PlacedOrder | IdempotencyKeyReused]:
    """`place_order` for many requests in one unit of work: one insert for all orders, one for all lines.

    Each OrderPlaced carries its own request's trace context, whichever request's task runs the batch.
    """
    ids = [uuid4() for _ in placements]
    inserted = await repository.add_many(
        uow.session, [(order_id, p.command) for order_id, p in zip(ids, placements, strict=True)], datetime.now(UTC)
    )
    results: list[PlacedOrder | IdempotencyKeyReused] = []
    for order_id, placement in zip(ids, placements, strict=True):
        command = placement.command
        if order_id in inserted:
            uow.publish(new_event(command.placed(order_id), source=SOURCE), extra_headers=placement.trace)
            results.append(PlacedOrder(order_id, OrderStatus.PENDING))
            continue
        assert command.idempotency_key is not None  # only a taken key makes the insert skip
        existing = await repository.by_idempotency_key(uow.session, command.idempotency_key)
        assert existing is not None  # the key is unique and rows are never deleted
        if existing["request_hash"] != command.fingerprint():
            results.append(IdempotencyKeyReused(command.idempotency_key))
        else:
            results.append(PlacedOrder(existing["id"], OrderStatus(existing["status"])))
    return results


async def on_stock_answer(uow: UnitOfWork, event: CloudEvent) -> None:
    data = event.data
    if not isinstance(data, StockReserved | StockRejected | StockReleased):
        raise _not_an_answer(data)
    await _apply(uow, event, data)


async def on_payment_answer(uow: UnitOfWork, event: CloudEvent) -> None:
    data = event.data
    if not isinstance(data, PaymentCaptured | PaymentDeclined | PaymentRefunded):
        raise _not_an_answer(data)
    await _apply(uow, event, data)


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


async def _apply(uow: UnitOfWork, event: CloudEvent, answer: EventAnswer) -> None:
    order_id = answer.order_id
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
        uow.note(event, _outcome(decision.order))


async def on_answers(uow: UnitOfWork, events: Sequence[CloudEvent]) -> None:
    """A poll batch of answers, set-based: one query loads (and on PostgreSQL locks) every order concerned,
    `decide` folds the answers in their order, one executemany saves what changed.

    The same outcome as `on_stock_answer` / `on_payment_answer` applied one by one: a missing order fails its
    own event only (`EventFailed`); a row that moved meanwhile fails the batch, which the runtime then applies
    event by event.
    """
    answers = [(event, _answer(event)) for event in events]
    session = uow.session
    stored = await repository.load_many(session, {answer.order_id for _, answer in answers}, lock=True)
    current = {order_id: found.order for order_id, found in stored.items()}
    for event, answer in answers:
        order = current.get(answer.order_id)
        if order is None:
            raise EventFailed(event, PermanentFailure(f"no order {answer.order_id} in the orders database"))
        decision = decide(order, answer)
        current[answer.order_id] = decision.order
        if decision.event is not None:
            uow.publish(new_event(decision.event, source=SOURCE), cause=event)
            uow.note(event, _outcome(decision.order))
    changed = [(found, current[order_id]) for order_id, found in stored.items() if current[order_id] != found.order]
    if not await repository.save_many(session, changed, datetime.now(UTC)):
        raise ConcurrentUpdate(f"one of {len(changed)} orders changed while their answers were decided")


_ANSWERS = (StockReserved, StockRejected, StockReleased, PaymentCaptured, PaymentDeclined, PaymentRefunded)


EventAnswer = StockReserved | StockRejected | StockReleased | PaymentCaptured | PaymentDeclined | PaymentRefunded


def _answer(event: CloudEvent) -> EventAnswer:
    data = event.data
    if not isinstance(data, _ANSWERS):
        raise EventFailed(event, _not_an_answer(data))
    return data


def _outcome(order: Order) -> dict[str, str]:
    """The span attributes of the answer that settled `order`: its id, status and cancel reason."""
    return order_attributes(order.id, order.status, order.cancel_reason)


def _not_an_answer(data: EventData) -> PermanentFailure:
    return PermanentFailure(f"{data.TYPE} is not an answer this handler takes")
