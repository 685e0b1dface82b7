"""The order and its saga decision: pure functions of state and answers, no database, Kafka or HTTP.

Inventory and payments answer `OrderPlaced` independently and in any order; `decide` folds each answer (or
the pending timeout) into the order and says which event, if any, announces the change:

- both positive -> CONFIRMED + `OrderConfirmed`; a negative -> CANCELLED + `OrderCancelled` with the reason
  of that first negative answer; still PENDING after the timeout -> CANCELLED with reason `timeout`.
- CONFIRMED and CANCELLED are absorbing: a late answer is recorded (operators see what each side did) but
  changes the status of nothing and emits nothing. No compensation event is needed either: an
  `OrderCancelled` always follows its `OrderPlaced` in the same partition of the orders topic (key = order
  id), so inventory and payments handle the cancel after whatever they did for the placement and undo it
  themselves; a StockReserved arriving after a cancel is stock that inventory is about to release anyway.
- A compensation (`StockReleased`, `PaymentRefunded`) is final for its side: a retried earlier answer that
  arrives after it (retry topics do not keep order) does not overwrite it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from uuid import UUID

from eventkit.events import (
    CancelReason,
    OrderCancelled,
    OrderConfirmed,
    PaymentCaptured,
    PaymentDeclined,
    PaymentRefunded,
    StockRejected,
    StockReleased,
    StockReserved,
)


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


class StockAnswer(StrEnum):
    RESERVED = "reserved"
    REJECTED = "rejected"
    RELEASED = "released"


class PaymentAnswer(StrEnum):
    CAPTURED = "captured"
    DECLINED = "declined"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class PendingTimeout:
    """The order stayed PENDING longer than the configured timeout."""


Answer = (
    StockReserved | StockRejected | StockReleased | PaymentCaptured | PaymentDeclined | PaymentRefunded | PendingTimeout
)
Outcome = OrderConfirmed | OrderCancelled

_FINAL_ANSWERS = frozenset({StockAnswer.RELEASED, PaymentAnswer.REFUNDED})


@dataclass(frozen=True)
class Order:
    id: UUID
    status: OrderStatus = OrderStatus.PENDING
    stock: StockAnswer | None = None
    payment: PaymentAnswer | None = None
    cancel_reason: CancelReason | None = None
    cancel_detail: str = ""


@dataclass(frozen=True)
class Decision:
    order: Order
    event: Outcome | None = None


def decide(order: Order, answer: Answer) -> Decision:
    recorded = _record(order, answer)
    if order.status is not OrderStatus.PENDING:
        return Decision(recorded)
    negative = _negative(recorded, answer)
    if negative is not None:
        reason, detail = negative
        cancelled = replace(recorded, status=OrderStatus.CANCELLED, cancel_reason=reason, cancel_detail=detail)
        return Decision(cancelled, OrderCancelled(order_id=order.id, reason=reason, detail=detail))
    if recorded.stock is StockAnswer.RESERVED and recorded.payment is PaymentAnswer.CAPTURED:
        return Decision(replace(recorded, status=OrderStatus.CONFIRMED), OrderConfirmed(order_id=order.id))
    return Decision(recorded)


def _record(order: Order, answer: Answer) -> Order:
    match answer:
        case StockReserved() | StockRejected() | StockReleased() if order.stock not in _FINAL_ANSWERS:
            return replace(order, stock=_STOCK_ANSWERS[type(answer)])
        case PaymentCaptured() | PaymentDeclined() | PaymentRefunded() if order.payment not in _FINAL_ANSWERS:
            return replace(order, payment=_PAYMENT_ANSWERS[type(answer)])
    return order


_STOCK_ANSWERS: dict[type[Answer], StockAnswer] = {
    StockReserved: StockAnswer.RESERVED,
    StockRejected: StockAnswer.REJECTED,
    StockReleased: StockAnswer.RELEASED,
}
_PAYMENT_ANSWERS: dict[type[Answer], PaymentAnswer] = {
    PaymentCaptured: PaymentAnswer.CAPTURED,
    PaymentDeclined: PaymentAnswer.DECLINED,
    PaymentRefunded: PaymentAnswer.REFUNDED,
}


def _negative(order: Order, answer: Answer) -> tuple[CancelReason, str] | None:
    match answer:
        case StockRejected(short_skus=skus):
            return CancelReason.OUT_OF_STOCK, f"short SKUs: {', '.join(skus)}"
        case PaymentDeclined(reason=reason):
            return CancelReason.PAYMENT_DECLINED, reason
        case PendingTimeout():
            silent = [side for side, said in (("inventory", order.stock), ("payments", order.payment)) if not said]
            return CancelReason.TIMEOUT, (
                f"no answer in time from {' and '.join(silent)}" if silent else "still pending after the timeout"
            )
    return None
