"""Inventory's side of the order saga: reserve on OrderPlaced, release on OrderCancelled.

Each handler runs inside the consumer's transaction; the inbox has already dropped redelivered events, and
the reservation row per order makes business-level duplicates (the same order under a new event id)
harmless too. `on_orders` applies a whole poll batch with set-based statements; `reserve_stock` and
`release_stock` apply one event each, when the runtime must isolate a failing one.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from eventkit.consumer import EventFailed
from eventkit.envelope import CloudEvent, data_of, new_event
from eventkit.errors import PermanentFailure
from eventkit.events import OrderCancelled, OrderPlaced, StockRejected, StockReleased, StockReserved
from eventkit.messaging import UnitOfWork
from services.inventory import repository
from services.inventory.domain import (
    Ledger,
    OnCancel,
    Rejected,
    ReservationStatus,
    demand,
    on_cancelled,
    on_placed,
    plan_batch,
    settle,
)

SOURCE = "/orderflow/inventory"


async def reserve_stock(uow: UnitOfWork, event: CloudEvent) -> None:
    placed = data_of(event, OrderPlaced)
    session = uow.session
    if not on_placed(await repository.status_of(session, placed.order_id)):
        return
    wanted = demand(placed.items)
    taken = set()
    # Every line is tried, not just up to the first short one, so the rejection names every short SKU.
    for line in wanted:
        if await repository.take(session, line):
            taken.add(line.sku)
    outcome = settle(wanted, taken)
    if isinstance(outcome, Rejected):
        await repository.give_back(session, outcome.give_back)
        await repository.add(session, placed.order_id, ReservationStatus.REJECTED)
        rejected = StockRejected(order_id=placed.order_id, short_skus=outcome.short_skus)
        uow.publish(new_event(rejected, source=SOURCE))
        return
    await repository.add(session, placed.order_id, ReservationStatus.RESERVED, outcome.lines)
    uow.publish(new_event(StockReserved(order_id=placed.order_id, items=outcome.lines), source=SOURCE))


async def release_stock(uow: UnitOfWork, event: CloudEvent) -> None:
    cancelled = data_of(event, OrderCancelled)
    session = uow.session
    match on_cancelled(await repository.status_of(session, cancelled.order_id)):
        case OnCancel.TOMBSTONE:
            await repository.add(session, cancelled.order_id, ReservationStatus.CANCELLED)
        case OnCancel.RELEASE:
            await repository.release(session, cancelled.order_id)
            uow.publish(new_event(StockReleased(order_id=cancelled.order_id), source=SOURCE))
        case OnCancel.NOTHING:
            pass


async def on_orders(uow: UnitOfWork, events: Sequence[CloudEvent]) -> None:
    """A poll batch of OrderPlaced/OrderCancelled, set-based: three reads (reservations, held lines, stock rows,
    locked on PostgreSQL), `plan_batch` decides everything in order, at most four writes apply it.

    The outcome is the per-event handlers' applied one after the other; a stock row that moved meanwhile
    (`StockMoved`) makes the runtime apply the batch event by event.
    """
    orders = [_order_event(event) for event in events]
    session = uow.session
    ids = {order.order_id for order in orders}
    recorded = await repository.statuses(session, ids)
    reserved = [order_id for order_id, status in recorded.items() if status is ReservationStatus.RESERVED]
    lines = await repository.held(session, reserved) if reserved else {}
    skus = {item.sku for order in orders if isinstance(order, OrderPlaced) for item in order.items}
    skus |= {line.sku for held in lines.values() for line in held}
    available = await repository.levels(session, skus) if skus else {}
    plan = plan_batch(orders, Ledger(recorded, available, lines))
    await repository.apply(session, plan, datetime.now(UTC))
    for index, answer in plan.answers:
        uow.publish(new_event(answer, source=SOURCE), cause=events[index])


def _order_event(event: CloudEvent) -> OrderPlaced | OrderCancelled:
    if not isinstance(event.data, OrderPlaced | OrderCancelled):
        raise EventFailed(event, PermanentFailure(f"{event.type} is not an event inventory handles"))
    return event.data
