from decimal import Decimal

from orderflow.invariants import OrderFacts, PaymentFacts, StockFacts, violations

CONFIRMED = OrderFacts("o1", "CONFIRMED", Decimal("10.00"), [("A", 2)])
CANCELLED = OrderFacts("o2", "CANCELLED", Decimal("5.00"), [("A", 1)])


def test_a_consistent_stack_has_no_violations() -> None:
    payments = {"o1": PaymentFacts("captured", Decimal("10.00")), "o2": PaymentFacts("refunded", Decimal("5.00"))}
    stock = {"A": StockFacts(available=8, reserved=2)}
    assert violations([CONFIRMED, CANCELLED], payments, stock, {"A": 10}) == []


def test_a_pending_order_is_reported() -> None:
    pending = OrderFacts("o3", "PENDING", Decimal(1), [("A", 1)])
    assert violations([pending], {}, {}) == ["order o3 is PENDING, not terminal"]


def test_a_cancelled_order_still_charged_is_reported() -> None:
    found = violations([CANCELLED], {"o2": PaymentFacts("captured", Decimal("5.00"))}, {"A": StockFacts(1, 0)})
    assert found == ["order o2 is CANCELLED but its net charge is 5.00 (expected 0)"]


def test_a_confirmed_order_never_charged_is_reported() -> None:
    found = violations([CONFIRMED], {}, {"A": StockFacts(8, 2)})
    assert found == ["order o1 is CONFIRMED but its net charge is 0 (expected 10.00)"]


def test_stock_held_by_a_cancelled_order_or_lost_is_reported() -> None:
    payments = {"o1": PaymentFacts("captured", Decimal("10.00"))}
    found = violations(
        [CONFIRMED, CANCELLED],
        payments | {"o2": PaymentFacts("declined", Decimal(0))},
        {"A": StockFacts(available=6, reserved=3)},
        {"A": 10},
    )
    assert found == ["A: 3 reserved but confirmed orders hold 2", "A: available 6 + reserved 3 != initial 10"]
