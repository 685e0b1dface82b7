"""The payments database: one payment row per order, and the outbox/inbox tables."""

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Column,
    Enum,
    Index,
    Row,
    String,
    Table,
    Text,
    Uuid,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from eventkit.columns import Money, UtcDateTime, identifier_type, service_metadata
from eventkit.messaging import messaging_tables
from services.payments.domain import Payment, PaymentStatus

metadata = service_metadata()

payments = Table(
    "payments",
    metadata,
    # One row per order: the primary key is what makes a duplicate OrderPlaced unable to charge twice.
    Column("order_id", Uuid, primary_key=True),
    Column(
        "status",
        Enum(
            PaymentStatus,
            name="payment_status",
            native_enum=False,
            length=16,
            values_callable=lambda statuses: [status.value for status in statuses],
        ),
        nullable=False,
    ),
    # The columns below stay empty for a tombstone: OrderCancelled names neither customer nor amount.
    Column("customer_id", identifier_type()),
    Column("payment_id", identifier_type()),
    Column("amount", Money),
    Column("currency", String(3)),
    Column("reason", Text),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "customer_id"),
)

tables = messaging_tables(metadata)


async def get(session: AsyncSession, order_id: UUID) -> Payment | None:
    return (await get_many(session, [order_id])).get(order_id)


async def get_many(session: AsyncSession, order_ids: Iterable[UUID]) -> dict[UUID, Payment]:
    """The payments of those of `order_ids` that have one, in one query."""
    query = select(payments).where(payments.c.order_id.in_(set(order_ids)))
    return {row.order_id: _payment(row) for row in await session.execute(query)}


def _payment(row: Row[Any]) -> Payment:
    return Payment(
        order_id=row.order_id,
        status=row.status,
        customer_id=row.customer_id,
        payment_id=row.payment_id,
        amount=row.amount,
        currency=row.currency,
        reason=row.reason,
    )


async def add(session: AsyncSession, payment: Payment) -> None:
    await add_many(session, [payment])


async def add_many(session: AsyncSession, added: Sequence[Payment]) -> None:
    """Insert payments, one statement for all; a primary-key conflict (a concurrent duplicate) fails them all."""
    now = datetime.now(UTC)
    rows = [
        {
            "order_id": payment.order_id,
            "status": payment.status,
            "customer_id": payment.customer_id,
            "payment_id": payment.payment_id,
            "amount": payment.amount,
            "currency": payment.currency,
            "reason": payment.reason,
            "updated_at": now,
        }
        for payment in added
    ]
    if rows:
        await session.execute(insert(payments), rows)


async def mark_refunded(session: AsyncSession, order_id: UUID) -> None:
    await mark_refunded_many(session, {order_id})


async def mark_refunded_many(session: AsyncSession, order_ids: Collection[UUID]) -> None:
    if order_ids:
        refunded = update(payments).where(payments.c.order_id.in_(order_ids))
        await session.execute(refunded.values(status=PaymentStatus.REFUNDED, updated_at=datetime.now(UTC)))


async def net_charged(session: AsyncSession, customer_id: str) -> dict[str, Decimal]:
    """Per currency, what the customer paid and was not paid back: refunded payments count zero.

    Summed here from the exact amounts: SQLite's SUM over decimal text would go through floating point.
    """
    captured = select(payments.c.currency, payments.c.amount).where(
        payments.c.customer_id == customer_id, payments.c.status == PaymentStatus.CAPTURED
    )
    totals: dict[str, Decimal] = {}
    for currency, amount in await session.execute(captured):
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    return totals
