"""A payment's life cycle per order: captured or declined once, refunded once, or never charged at all.

Pure: no database, provider, Kafka or HTTP.
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, StrEnum
from uuid import UUID

from eventkit.events import OrderPlaced, PaymentCaptured, PaymentDeclined


class PaymentStatus(StrEnum):
    CAPTURED = "captured"
    DECLINED = "declined"
    REFUNDED = "refunded"
    # Tombstone: the cancellation arrived before the placement (which was being retried). The late
    # placement then charges nothing and answers nothing: the order is already cancelled.
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Payment:
    """What happened to an order's payment; a tombstone knows only the order id."""

    order_id: UUID
    status: PaymentStatus
    customer_id: str | None = None
    payment_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    reason: str | None = None  # why a capture was declined


@dataclass(frozen=True)
class Captured:
    payment_id: str


@dataclass(frozen=True)
class Declined:
    reason: str


CaptureResult = Captured | Declined


class OnCancel(Enum):
    TOMBSTONE = "tombstone"
    REFUND = "refund"
    NOTHING = "nothing"


def on_placed(status: PaymentStatus | None) -> bool:
    """Whether an OrderPlaced charges: only for an order never seen before.

    Neither a duplicate (the same order under another event id) nor a placement overtaken by its
    cancellation (the tombstone) may charge again.
    """
    return status is None


def on_cancelled(status: PaymentStatus | None) -> OnCancel:
    """What an OrderCancelled does to a payment in `status` (None: its placement was never seen)."""
    if status is None:
        return OnCancel.TOMBSTONE
    if status is PaymentStatus.CAPTURED:
        return OnCancel.REFUND
    return OnCancel.NOTHING  # nothing was charged, or it was refunded already


def settle(placed: OrderPlaced, result: CaptureResult) -> tuple[Payment, PaymentCaptured | PaymentDeclined]:
    """The payment to record for a capture's result, and the answer that announces it."""
    if isinstance(result, Captured):
        payment = Payment(
            order_id=placed.order_id,
            status=PaymentStatus.CAPTURED,
            customer_id=placed.customer_id,
            payment_id=result.payment_id,
            amount=placed.total,
            currency=placed.currency,
        )
        captured = PaymentCaptured(
            order_id=placed.order_id, payment_id=result.payment_id, amount=placed.total, currency=placed.currency
        )
        return payment, captured
    # The declined amount is kept too: operators see what was attempted.
    payment = Payment(
        order_id=placed.order_id,
        status=PaymentStatus.DECLINED,
        customer_id=placed.customer_id,
        amount=placed.total,
        currency=placed.currency,
        reason=result.reason,
    )
    return payment, PaymentDeclined(order_id=placed.order_id, reason=result.reason)
