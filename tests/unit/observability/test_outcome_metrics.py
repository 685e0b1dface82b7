"""Saga outcomes are counted from the events of committed transactions, cancellations by reason."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from prometheus_client import REGISTRY

from eventkit.envelope import new_event
from eventkit.events import CancelReason, OrderCancelled, OrderConfirmed, OrderLine, OrderPlaced
from services.orders.metrics import count_outcomes


def _outcomes(outcome: str, reason: str) -> float:
    return REGISTRY.get_sample_value("orderflow_saga_outcomes_total", {"outcome": outcome, "reason": reason}) or 0.0


def test_confirmations_and_cancellations_by_reason_are_counted_and_other_events_are_not() -> None:
    before = {
        key: _outcomes(*key) for key in (("confirmed", ""), ("cancelled", "timeout"), ("cancelled", "out_of_stock"))
    }
    line = OrderLine(sku="SKU-1", quantity=1, unit_price=Decimal("1.00"))
    events = [
        new_event(OrderConfirmed(order_id=uuid4()), source="/t"),
        new_event(OrderCancelled(order_id=uuid4(), reason=CancelReason.TIMEOUT), source="/t"),
        new_event(OrderCancelled(order_id=uuid4(), reason=CancelReason.TIMEOUT), source="/t"),
        new_event(
            OrderPlaced(order_id=uuid4(), customer_id="c", items=[line], currency="EUR", total=Decimal(1)), source="/t"
        ),
    ]

    count_outcomes(events)

    assert _outcomes("confirmed", "") == before["confirmed", ""] + 1
    assert _outcomes("cancelled", "timeout") == before["cancelled", "timeout"] + 2
    assert _outcomes("cancelled", "out_of_stock") == before["cancelled", "out_of_stock"]
