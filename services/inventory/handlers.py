"""Inventory's side of the order saga: reserve on OrderPlaced, release on OrderCancelled.

Each handler runs inside the consumer's transaction; the inbox has already dropped redelivered events, and
the reservation row per order makes business-level duplicates (the same order under a new event id)
harmless too.
"""

from eventkit.envelope import CloudEvent, data_of, new_event
from eventkit.events import OrderCancelled, OrderPlaced, StockRejected, StockReleased, StockReserved
from eventkit.messaging import UnitOfWork
from services.inventory import repository
from services.inventory.domain import OnCancel, Rejected, ReservationStatus, demand, on_cancelled, on_placed, settle

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
