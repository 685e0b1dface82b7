"""The saga's invariants as a pure check over what the three services report (DESIGN.md, Invariants 1-3)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class OrderFacts:
    order_id: str
    status: str  # PENDING | CONFIRMED | CANCELLED
    total: Decimal
    lines: Sequence[tuple[str, int]]  # (sku, quantity)


@dataclass(frozen=True)
class PaymentFacts:
    status: str | None  # captured | declined | refunded | cancelled; None when payments never saw it
    amount: Decimal


@dataclass(frozen=True)
class StockFacts:
    available: int
    reserved: int


def violations(
    orders: Sequence[OrderFacts],
    payments: Mapping[str, PaymentFacts],
    stock: Mapping[str, StockFacts],
    initial_stock: Mapping[str, int] | None = None,
) -> list[str]:
    """Every broken invariant, one sentence each; an empty list means all hold."""
    found: list[str] = []
    for order in orders:
        if order.status not in ("CONFIRMED", "CANCELLED"):
            found.append(f"order {order.order_id} is {order.status}, not terminal")
            continue
        payment = payments.get(order.order_id, PaymentFacts(None, Decimal(0)))
        net = payment.amount if payment.status == "captured" else Decimal(0)
        expected = order.total if order.status == "CONFIRMED" else Decimal(0)
        if net != expected:
            found.append(f"order {order.order_id} is {order.status} but its net charge is {net} (expected {expected})")
    demand: Counter[str] = Counter()
    for order in orders:
        if order.status == "CONFIRMED":
            for sku, quantity in order.lines:
                demand[sku] += quantity
    for sku in sorted(set(demand) | set(stock)):
        level = stock.get(sku, StockFacts(0, 0))
        if level.reserved != demand[sku]:
            found.append(f"{sku}: {level.reserved} reserved but confirmed orders hold {demand[sku]}")
        if (
            initial_stock is not None
            and sku in initial_stock
            and level.available + level.reserved != initial_stock[sku]
        ):
            found.append(
                f"{sku}: available {level.available} + reserved {level.reserved} != initial {initial_stock[sku]}"
            )
    return found
