"""Event factories: valid events of the catalog with sensible defaults, for any test that sends one."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid4

from eventkit.envelope import CloudEvent, new_event
from eventkit.events import CancelReason, EventData, OrderCancelled, OrderLine, OrderPlaced

SOURCE = "/tests"


def event(data: EventData) -> CloudEvent:
    return new_event(data, source=SOURCE)


def placed(
    customer: str = "c-1",
    *lines: tuple[str, int, str],
    order_id: UUID | None = None,
    currency: str = "EUR",
) -> CloudEvent:
    """An OrderPlaced of `lines` (sku, quantity, unit price); one unit of SKU-1 at 1.00 when none are given."""
    items = [
        OrderLine(sku=sku, quantity=quantity, unit_price=Decimal(price))
        for sku, quantity, price in (lines or (("SKU-1", 1, "1.00"),))
    ]
    total = sum((item.quantity * item.unit_price for item in items), Decimal(0))
    data = OrderPlaced(order_id=order_id or uuid4(), customer_id=customer, items=items, currency=currency, total=total)
    return event(data)


def cancelled(order_id: UUID, reason: CancelReason = CancelReason.PAYMENT_DECLINED) -> CloudEvent:
    return event(OrderCancelled(order_id=order_id, reason=reason))
