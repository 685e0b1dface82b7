"""A payment's life cycle: the answer to a capture, charging at most once, refunding only what was captured."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventkit.events import OrderLine, OrderPlaced, PaymentCaptured, PaymentDeclined
from services.payments.domain import (
    Captured,
    Declined,
    OnCancel,
    Payment,
    PaymentStatus,
    on_cancelled,
    on_placed,
    settle,
)

ORDER_ID = UUID("6f0c5a8e-2b1d-4c3e-9f7a-1d2e3f4a5b6c")
PLACED = OrderPlaced(
    order_id=ORDER_ID,
    customer_id="c-1",
    items=[OrderLine(sku="SKU-1", quantity=2, unit_price=Decimal("12.50"))],
    currency="EUR",
    total=Decimal("25.00"),
)


def test_a_capture_records_the_payment_and_announces_the_amount() -> None:
    payment, answer = settle(PLACED, Captured("pay_1"))

    assert payment == Payment(ORDER_ID, PaymentStatus.CAPTURED, "c-1", "pay_1", Decimal("25.00"), "EUR")
    assert answer == PaymentCaptured(order_id=ORDER_ID, payment_id="pay_1", amount=Decimal("25.00"), currency="EUR")


def test_a_decline_records_the_attempt_and_its_reason() -> None:
    payment, answer = settle(PLACED, Declined("card declined"))

    assert payment == Payment(
        ORDER_ID, PaymentStatus.DECLINED, "c-1", None, Decimal("25.00"), "EUR", reason="card declined"
    )
    assert answer == PaymentDeclined(order_id=ORDER_ID, reason="card declined")


def test_only_an_order_never_seen_is_charged() -> None:
    assert on_placed(None)
    for status in PaymentStatus:
        assert not on_placed(status), status


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (None, OnCancel.TOMBSTONE),
        (PaymentStatus.CAPTURED, OnCancel.REFUND),
        (PaymentStatus.DECLINED, OnCancel.NOTHING),
        (PaymentStatus.REFUNDED, OnCancel.NOTHING),
        (PaymentStatus.CANCELLED, OnCancel.NOTHING),
    ],
)
def test_a_cancellation_refunds_only_a_captured_payment(status: PaymentStatus | None, action: OnCancel) -> None:
    assert on_cancelled(status) is action


@given(st.lists(st.sampled_from(["placed", "cancelled"]), min_size=1, max_size=8))
def test_any_delivery_order_charges_at_most_once_and_a_cancelled_order_ends_with_nothing_charged(
    deliveries: list[str],
) -> None:
    """Replays the handlers' decisions over duplicated and reordered deliveries of one order's events."""
    status: PaymentStatus | None = None
    charges = refunds = 0
    for delivery in deliveries:
        if delivery == "placed" and on_placed(status):
            status, charges = PaymentStatus.CAPTURED, charges + 1
        elif delivery == "cancelled":
            action = on_cancelled(status)
            if action is OnCancel.TOMBSTONE:
                status = PaymentStatus.CANCELLED
            elif action is OnCancel.REFUND:
                status, refunds = PaymentStatus.REFUNDED, refunds + 1

    assert charges <= 1
    assert refunds <= charges
    if "cancelled" in deliveries:
        assert charges - refunds == 0
