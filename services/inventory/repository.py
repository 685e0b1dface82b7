"""The inventory database: stock per SKU, each order's reservation, and the outbox/inbox tables."""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
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
from eventkit.events import Reservation
from eventkit.messaging import messaging_tables
from services.inventory.domain import ReservationStatus, StockLevel

metadata = service_metadata()

stock = Table(
    "stock",
    metadata,
    Column("sku", identifier_type(), primary_key=True),
    Column("available", Integer, nullable=False),
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
