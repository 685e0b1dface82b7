"""The payments database: one payment row per order, and the outbox/inbox tables."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import (
    Column,
    DateTime,
    Enum,
    Index,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from eventkit.messaging import messaging_tables
from services.payments.domain import Payment, PaymentStatus

metadata = MetaData()

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
    Column("customer_id", Text),
    Column("payment_id", String(255)),
    Column("amount", Numeric(24, 4)),
    Column("currency", String(3)),
    Column("reason", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_payments_customer_id", "customer_id"),
)

tables = messaging_tables(metadata)


async def get(session: AsyncSession, order_id: UUID) -> Payment | None:
    row = (await session.execute(select(payments).where(payments.c.order_id == order_id))).one_or_none()
    if row is None:
        return None
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
    row = {
        "order_id": payment.order_id,
        "status": payment.status,
        "customer_id": payment.customer_id,
        "payment_id": payment.payment_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "reason": payment.reason,
        "updated_at": datetime.now(UTC),
    }
    await session.execute(insert(payments), [row])


async def mark_refunded(session: AsyncSession, order_id: UUID) -> None:
    refunded = update(payments).where(payments.c.order_id == order_id)
    await session.execute(refunded.values(status=PaymentStatus.REFUNDED, updated_at=datetime.now(UTC)))


async def net_charged(session: AsyncSession, customer_id: str) -> dict[str, Decimal]:
    """Per currency, what the customer paid and was not paid back: refunded payments count zero."""
    totals = (
        select(payments.c.currency, func.sum(payments.c.amount))
        .where(payments.c.customer_id == customer_id, payments.c.status == PaymentStatus.CAPTURED)
        .group_by(payments.c.currency)
    )
    return {currency: Decimal(total) for currency, total in await session.execute(totals)}
