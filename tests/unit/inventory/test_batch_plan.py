"""`plan_batch`: a poll batch decided at once equals the per-event rules applied one after the other."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid4

from eventkit.events import (
    CancelReason,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    Reservation,
    StockRejected,
)
from services.inventory.domain import Ledger, ReservationStatus, plan_batch


def placed(*lines: tuple[str, int], order_id: UUID | None = None) -> OrderPlaced:
    items = [OrderLine(sku=sku, quantity=quantity, unit_price=Decimal("1.00")) for sku, quantity in lines]
    total = sum((item.quantity * item.unit_price for item in items), Decimal(0))
    return OrderPlaced(order_id=order_id or uuid4(), customer_id="c", items=items, currency="EUR", total=total)


def cancelled(order_id: UUID) -> OrderCancelled:
    return OrderCancelled(order_id=order_id, reason=CancelReason.PAYMENT_DECLINED)


def test_placements_take_stock_in_their_order_all_or_nothing() -> None:
    first, second, third = placed(("A", 2), ("B", 1)), placed(("A", 2)), placed(("A", 1), ("B", 1))
    plan = plan_batch([first, second, third], Ledger({}, {"A": 3, "B": 1}, {}))

    assert [type(answer).__name__ for _, answer in plan.answers] == ["StockReserved", "StockRejected", "StockRejected"]
    assert plan.answers[1][1] == StockRejected(order_id=second.order_id, short_skus=["A"])
    assert plan.answers[2][1] == StockRejected(order_id=third.order_id, short_skus=["B"])
    assert plan.stock_delta == {"A": -2, "B": -1}
    assert plan.new[first.order_id] == (
        ReservationStatus.RESERVED,
        [Reservation(sku="A", quantity=2), Reservation(sku="B", quantity=1)],
    )
    assert plan.new[second.order_id] == (ReservationStatus.REJECTED, [])


def test_an_unknown_sku_is_short() -> None:
    order = placed(("NOPE", 1))
    plan = plan_batch([order], Ledger({}, {}, {}))
    assert plan.answers == [(0, StockRejected(order_id=order.order_id, short_skus=["NOPE"]))]
    assert plan.stock_delta == {}


def test_a_cancellation_releases_what_was_reserved_earlier_in_the_batch_or_before() -> None:
    earlier = uuid4()
    now = placed(("A", 2))
    ledger = Ledger({earlier: ReservationStatus.RESERVED}, {"A": 5}, {earlier: [Reservation(sku="A", quantity=3)]})
    plan = plan_batch([now, cancelled(now.order_id), cancelled(earlier)], ledger)

    assert [type(answer).__name__ for _, answer in plan.answers] == ["StockReserved", "StockReleased", "StockReleased"]
    assert [index for index, _ in plan.answers] == [0, 1, 2]
    assert plan.stock_delta == {"A": 3}  # -2 +2 for the new order, +3 given back by the earlier one
    assert plan.new[now.order_id] == (ReservationStatus.RELEASED, [Reservation(sku="A", quantity=2)])
    assert plan.changed == {earlier: ReservationStatus.RELEASED}


def test_a_cancellation_before_its_placement_leaves_a_tombstone_the_placement_respects() -> None:
    order_id = uuid4()
    plan = plan_batch([cancelled(order_id), placed(("A", 1), order_id=order_id)], Ledger({}, {"A": 5}, {}))
    assert plan.answers == []
    assert plan.new == {order_id: (ReservationStatus.CANCELLED, [])}
    assert plan.stock_delta == {}


def test_duplicates_change_nothing() -> None:
    order = placed(("A", 1))
    plan = plan_batch([order, order, cancelled(order.order_id), cancelled(order.order_id)], Ledger({}, {"A": 1}, {}))
    assert [type(answer).__name__ for _, answer in plan.answers] == ["StockReserved", "StockReleased"]
    assert plan.stock_delta == {}
