"""The orders API's hot paths, coalesced (eventkit.coalesce): concurrent POSTs commit as one transaction,
concurrent reads of single orders are one query.

A 202 still means the order and its OrderPlaced are committed together (the transactional outbox), each event
keeps its own request's trace context, and an idempotency key still yields one order. If a batch's
transaction fails as a whole, each request of it is placed alone, so one bad request never fails others.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventkit.coalesce import Coalescer
from eventkit.host.context import ServiceContext
from eventkit.observability.spans import context_headers
from services.orders import views
from services.orders.commands import PlaceOrder
from services.orders.handlers import IdempotencyKeyReused, PlacedOrder, Placement, place_orders
from services.orders.schemas import OrderDetail
from services.orders.watch import OrderWatcher

Placed = PlacedOrder | IdempotencyKeyReused


class OrderDesk:
    def __init__(self, context: ServiceContext, watcher: OrderWatcher, max_batch: int = 256) -> None:
        self._context = context
        self.watcher = watcher  # long polls of the same process
        self._placing: Coalescer[Placement, PlacedOrder] = Coalescer(
            self._place, max_batch=max_batch, name="orders-place"
        )
        self._reading: Coalescer[UUID, OrderDetail | None] = Coalescer(
            self._read, max_batch=max_batch, name="orders-read"
        )

    async def place(self, command: PlaceOrder) -> PlacedOrder:
        """The order placed (or found by its idempotency key); IdempotencyKeyReused for another body."""
        return await self._placing.submit(Placement(command, context_headers()))

    async def read(self, order_id: UUID) -> OrderDetail | None:
        return await self._reading.submit(order_id)

    async def _place(self, placements: Sequence[Placement]) -> Sequence[Placed | BaseException]:
        try:
            return await self._transaction(placements)
        except Exception as error:
            if len(placements) == 1:
                return [error]
        return [await self._alone(placement) for placement in placements]

    async def _alone(self, placement: Placement) -> Placed | BaseException:
        try:
            [placed] = await self._transaction([placement])
        except Exception as error:
            return error
        return placed

    async def _transaction(self, placements: Sequence[Placement]) -> list[Placed]:
        async with self._context.unit_of_work() as uow:
            return await place_orders(uow, placements)

    async def _read(self, order_ids: Sequence[UUID]) -> list[OrderDetail | None]:
        async with self._context.sessions() as session:
            found = await views.orders_by_id(session, order_ids)
        return [OrderDetail.of_rows(*found[order_id]) if order_id in found else None for order_id in order_ids]
