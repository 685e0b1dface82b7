"""The orders database: tables (with the shared outbox and inbox) and the few queries the service runs.

Writes go through Core statements, not an ORM identity map, so a handler always sees what an earlier handler
of the same consumer batch wrote. Every change of an order is a compare-and-set on `version`: the consumer and
the timeout sweeper may decide about one order at the same moment, and only one of them may win.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    RowMapping,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from eventkit.columns import Money, UtcDateTime, identifier_type, service_metadata
from eventkit.database import all_rows_matched, dialect_insert
from eventkit.events import CancelReason
from eventkit.messaging import messaging_tables
from services.orders.commands import PlaceOrder
from services.orders.domain import Order, OrderStatus, PaymentAnswer, StockAnswer

metadata = service_metadata()

orders = Table(
    "orders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", identifier_type(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", Money, nullable=False),
    Column("status", String(16), nullable=False),
    Column("cancel_reason", String(32)),
    Column("cancel_detail", Text, nullable=False, default=""),
    Column("stock_answer", String(16)),
    Column("payment_answer", String(16)),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("idempotency_key", String(255), unique=True),
    Column("request_hash", String(64)),
    # Newest-first pages, with and without a status filter; the sweeper scans (PENDING, created_at).
    Index(None, "created_at", "id"),
    Index(None, "status", "created_at", "id"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", Uuid, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", identifier_type(), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
)

tables = messaging_tables(metadata)


@dataclass(frozen=True)
class Stored:
    """An order as loaded, with the version a save must still find to succeed."""

    order: Order
    version: int


async def add(session: AsyncSession, order_id: UUID, command: PlaceOrder, now: datetime) -> bool:
    """Insert the order and its lines; False (and nothing written) if its idempotency key is taken."""
    return order_id in await add_many(session, [(order_id, command)], now)


async def add_many(session: AsyncSession, placed: Sequence[tuple[UUID, PlaceOrder]], now: datetime) -> set[UUID]:
    """Insert orders and their lines, two statements for all; the ids inserted (a taken idempotency key skips).

    The insert comes first in the transaction and skips a conflicting key instead of failing, so two racing
    requests with one key need neither a savepoint nor a retry: the loser then reads the winner's row.
    """
    rows = [
        {
            "id": order_id,
            "customer_id": command.customer_id,
            "currency": command.currency,
            "total": command.total,
            "status": OrderStatus.PENDING,
            "cancel_detail": "",
            "stock_answer": None,
            "payment_answer": None,
            "cancel_reason": None,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "idempotency_key": command.idempotency_key,
            "request_hash": command.fingerprint() if command.idempotency_key else None,
        }
        for order_id, command in placed
    ]
    # executemany (parameters apart): one cached statement whatever the batch size, unlike a multi-row VALUES.
    statement = dialect_insert(session, orders).on_conflict_do_nothing(index_elements=[orders.c.idempotency_key])
    inserted = set((await session.execute(statement.returning(orders.c.id), rows)).scalars())
    lines = [
        {"order_id": order_id, "line_no": number, **line.model_dump()}
        for order_id, command in placed
        if order_id in inserted
        for number, line in enumerate(command.lines, start=1)
    ]
    if lines:
        await session.execute(insert(order_lines), lines)
    return inserted


async def by_idempotency_key(session: AsyncSession, key: str) -> RowMapping | None:
    query = select(orders.c.id, orders.c.status, orders.c.request_hash).where(orders.c.idempotency_key == key)
    return (await session.execute(query)).mappings().one_or_none()


async def load(session: AsyncSession, order_id: UUID) -> Stored | None:
    return (await load_many(session, [order_id])).get(order_id)


async def load_many(session: AsyncSession, order_ids: Iterable[UUID], *, lock: bool = False) -> dict[UUID, Stored]:
    """The orders among `order_ids` that exist, in one query.

    `lock` takes their row locks on PostgreSQL (in id order, so two lockers never deadlock), so the versions a
    batch saves later cannot have moved; SQLite has no row locks and needs none, as a consumer batch holds its
    database's write lock from its first statement on (the inbox insert).
    """
    query = select(orders).where(orders.c.id.in_(sorted(set(order_ids)))).order_by(orders.c.id)
    if lock:
        query = query.with_for_update()
    return {row["id"]: _stored(row) for row in (await session.execute(query)).mappings()}


async def stale(session: AsyncSession, created_before: datetime, limit: int) -> list[Stored]:
    query = (
        select(orders)
        .where(orders.c.status == OrderStatus.PENDING, orders.c.created_at < created_before)
        .order_by(orders.c.created_at)
        .limit(limit)
    )
    return [_stored(row) for row in (await session.execute(query)).mappings()]


async def save(session: AsyncSession, stored: Stored, order: Order, now: datetime) -> bool:
    """Write `order` if the row is still at `stored.version`; False if someone else changed it first."""
    return await save_many(session, [(stored, order)], now)


async def save_many(session: AsyncSession, changes: Sequence[tuple[Stored, Order]], now: datetime) -> bool:
    """Write each order if its row is still at its stored version, one executemany round trip for all.

    False if any row had moved (nothing to trust then: the caller rolls back and decides again). On PostgreSQL
    a batch of several must hold the rows' locks (`load_many(lock=True)`), which is what makes moving impossible.
    """
    if not changes:
        return True
    statement = (
        update(orders)
        .where(orders.c.id == bindparam("order_id"), orders.c.version == bindparam("stored_version"))
        .values(
            status=bindparam("new_status"),
            stock_answer=bindparam("new_stock"),
            payment_answer=bindparam("new_payment"),
            cancel_reason=bindparam("new_reason"),
            cancel_detail=bindparam("new_detail"),
            version=bindparam("new_version"),
            updated_at=bindparam("now"),
        )
    )
    parameters = [
        {
            "order_id": order.id,
            "stored_version": stored.version,
            "new_status": order.status,
            "new_stock": order.stock,
            "new_payment": order.payment,
            "new_reason": order.cancel_reason,
            "new_detail": order.cancel_detail,
            "new_version": stored.version + 1,
            "now": now,
        }
        for stored, order in changes
    ]
    result = await session.execute(statement, parameters)
    return all_rows_matched(session, result, len(changes))


def _stored(row: RowMapping) -> Stored:
    order = Order(
        id=row["id"],
        status=OrderStatus(row["status"]),
        stock=StockAnswer(row["stock_answer"]) if row["stock_answer"] else None,
        payment=PaymentAnswer(row["payment_answer"]) if row["payment_answer"] else None,
        cancel_reason=CancelReason(row["cancel_reason"]) if row["cancel_reason"] else None,
        cancel_detail=row["cancel_detail"],
    )
    return Stored(order, row["version"])
