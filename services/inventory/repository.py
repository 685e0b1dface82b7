"""The inventory database: stock per SKU, each order's reservation, and the outbox/inbox tables."""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Table,
    Uuid,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from eventkit.columns import UtcDateTime, identifier_type, service_metadata
from eventkit.database import all_rows_matched
from eventkit.events import Reservation
from eventkit.messaging import messaging_tables
from services.inventory.domain import Plan, ReservationStatus, StockLevel

metadata = service_metadata()

stock = Table(
    "stock",
    metadata,
    Column("sku", identifier_type(), primary_key=True),
    Column("available", BigInteger, nullable=False),
    # The conditional UPDATE already refuses to oversell; the constraint catches any other writer.
    CheckConstraint("available >= 0", name="available_not_negative"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column(
        "status",
        Enum(
            ReservationStatus,
            name="reservation_status",
            native_enum=False,
            length=16,
            values_callable=lambda statuses: [status.value for status in statuses],
        ),
        nullable=False,
    ),
    Column("updated_at", UtcDateTime, nullable=False),
)

# A line holds stock while its reservation's status is RESERVED; the status lives on the order alone.
reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column("order_id", Uuid, ForeignKey("reservations.order_id"), primary_key=True),
    Column("sku", identifier_type(), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Index(None, "sku"),
)

tables = messaging_tables(metadata)


async def status_of(session: AsyncSession, order_id: UUID) -> ReservationStatus | None:
    status: ReservationStatus | None = await session.scalar(
        select(reservations.c.status).where(reservations.c.order_id == order_id)
    )
    return status


async def take(session: AsyncSession, line: Reservation) -> bool:
    """Take the line's quantity if that much is available, in one statement.

    The row lock (PostgreSQL) or the write lock (SQLite) makes check and decrement one step, so two orders
    can never both take the last unit; rowcount tells whether this one did.
    """
    taken = update(stock).where(stock.c.sku == line.sku, stock.c.available >= line.quantity)
    result = await session.execute(taken.values(available=stock.c.available - line.quantity))
    return cast(CursorResult[Any], result).rowcount == 1


async def give_back(session: AsyncSession, lines: Sequence[Reservation]) -> None:
    if not lines:
        return
    # One executemany round trip for all lines.
    returned = (
        update(stock)
        .where(stock.c.sku == bindparam("line_sku"))
        .values(available=stock.c.available + bindparam("line_quantity"))
    )
    await session.execute(returned, [{"line_sku": line.sku, "line_quantity": line.quantity} for line in lines])


async def add(
    session: AsyncSession, order_id: UUID, status: ReservationStatus, lines: Iterable[Reservation] = ()
) -> None:
    """Record the order's outcome; its primary key turns a concurrent duplicate into a retried conflict."""
    row = {"order_id": order_id, "status": status, "updated_at": datetime.now(UTC)}
    await session.execute(insert(reservations), [row])
    rows = [{"order_id": order_id, "sku": line.sku, "quantity": line.quantity} for line in lines]
    if rows:
        await session.execute(insert(reservation_lines), rows)


async def release(session: AsyncSession, order_id: UUID) -> None:
    held = select(reservation_lines.c.sku, reservation_lines.c.quantity).where(reservation_lines.c.order_id == order_id)
    lines = [Reservation(sku=sku, quantity=quantity) for sku, quantity in await session.execute(held)]
    await give_back(session, lines)
    released = update(reservations).where(reservations.c.order_id == order_id)
    await session.execute(released.values(status=ReservationStatus.RELEASED, updated_at=datetime.now(UTC)))


async def stock_level(session: AsyncSession, sku: str) -> StockLevel | None:
    available = await session.scalar(select(stock.c.available).where(stock.c.sku == sku))
    if available is None:
        return None
    held = (
        select(func.coalesce(func.sum(reservation_lines.c.quantity), 0))
        .join(reservations, reservations.c.order_id == reservation_lines.c.order_id)
        .where(reservation_lines.c.sku == sku, reservations.c.status == ReservationStatus.RESERVED)
    )
    reserved = await session.scalar(held)
    return StockLevel(sku=sku, available=available, reserved=int(reserved or 0))


async def set_available(session: AsyncSession, sku: str, available: int) -> None:
    # One upsert statement, so two admins stocking a new SKU at once cannot collide on its primary key.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(stock).values(sku=sku, available=available)
    await session.execute(upsert.on_conflict_do_update(index_elements=[stock.c.sku], set_={"available": available}))


class StockMoved(Exception):
    """A stock row changed between a batch's read and its write; the batch is applied event by event instead."""


async def statuses(session: AsyncSession, order_ids: Iterable[UUID]) -> dict[UUID, ReservationStatus]:
    query = select(reservations.c.order_id, reservations.c.status).where(reservations.c.order_id.in_(set(order_ids)))
    return {order_id: status for order_id, status in await session.execute(query)}


async def levels(session: AsyncSession, skus: Iterable[str]) -> dict[str, int]:
    """Available units of `skus`, locked on PostgreSQL (in SKU order, so concurrent batches never deadlock) until
    the transaction ends; SQLite's batch already holds the write lock (its inbox insert came first)."""
    query = select(stock.c.sku, stock.c.available).where(stock.c.sku.in_(sorted(set(skus)))).order_by(stock.c.sku)
    return {sku: available for sku, available in await session.execute(query.with_for_update())}


async def held(session: AsyncSession, order_ids: Iterable[UUID]) -> dict[UUID, list[Reservation]]:
    """The lines of the RESERVED reservations among `order_ids`."""
    query = (
        select(reservation_lines.c.order_id, reservation_lines.c.sku, reservation_lines.c.quantity)
        .join(reservations, reservations.c.order_id == reservation_lines.c.order_id)
        .where(reservation_lines.c.order_id.in_(set(order_ids)), reservations.c.status == ReservationStatus.RESERVED)
    )
    found: dict[UUID, list[Reservation]] = {}
    for order_id, sku, quantity in await session.execute(query):
        found.setdefault(order_id, []).append(Reservation(sku=sku, quantity=quantity))
    return found


async def apply(session: AsyncSession, plan: Plan, now: datetime) -> None:
    """A batch's plan in four statements at most: stock deltas, new reservations, their lines, status changes."""
    if plan.stock_delta:
        moved = (
            update(stock)
            .where(stock.c.sku == bindparam("line_sku"), stock.c.available + bindparam("delta") >= 0)
            .values(available=stock.c.available + bindparam("delta"))
        )
        deltas = [{"line_sku": sku, "delta": delta} for sku, delta in sorted(plan.stock_delta.items())]
        # The rows are locked (`levels`) on PostgreSQL; on SQLite the guard in the WHERE clause is counted.
        if not all_rows_matched(session, await session.execute(moved, deltas), len(deltas)):
            raise StockMoved(f"some of {len(deltas)} stock rows moved under the batch")
    if plan.new:
        rows = [
            {"order_id": order_id, "status": status, "updated_at": now} for order_id, (status, _) in plan.new.items()
        ]
        await session.execute(insert(reservations), rows)
        held_rows = [
            {"order_id": order_id, "sku": line.sku, "quantity": line.quantity}
            for order_id, (_, lines) in plan.new.items()
            for line in lines
        ]
        if held_rows:
            await session.execute(insert(reservation_lines), held_rows)
    if plan.changed:
        changed = (
            update(reservations)
            .where(reservations.c.order_id == bindparam("reserved_order"))
            .values(status=bindparam("new_status"), updated_at=now)
        )
        params = [{"reserved_order": order_id, "new_status": status} for order_id, status in plan.changed.items()]
        await session.execute(changed, params)
