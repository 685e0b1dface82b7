"""Reservation rules: merged demand, all-or-nothing settlement, and the order life cycle with tombstones."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventkit.events import OrderLine, Reservation
from services.inventory.domain import (
    OnCancel,
    Rejected,
    ReservationStatus,
    Reserved,
    demand,
    on_cancelled,
    on_placed,
    settle,
)

skus = st.sampled_from(["A", "B", "C", "D", "E"])
order_lines = st.lists(
    st.builds(OrderLine, sku=skus, quantity=st.integers(1, 50), unit_price=st.just(Decimal("1.00"))), min_size=1
)


def line(sku: str, quantity: int) -> OrderLine:
    return OrderLine(sku=sku, quantity=quantity, unit_price=Decimal("2.50"))


def test_demand_merges_repeated_skus_and_sorts_them() -> None:
    assert demand([line("B", 1), line("A", 2), line("B", 3)]) == [
        Reservation(sku="A", quantity=2),
        Reservation(sku="B", quantity=4),
    ]


@given(order_lines)
def test_demand_keeps_every_unit_of_every_sku(items: list[OrderLine]) -> None:
    wanted = demand(items)

    assert [line.sku for line in wanted] == sorted({item.sku for item in items})
    for reservation in wanted:
        assert reservation.quantity == sum(item.quantity for item in items if item.sku == reservation.sku)


@given(order_lines, st.sets(skus))
def test_settlement_is_all_or_nothing(items: list[OrderLine], taken: set[str]) -> None:
    wanted = demand(items)
    taken_here = {line.sku for line in wanted} & taken

    outcome = settle(wanted, taken_here)

    if taken_here == {line.sku for line in wanted}:
        assert outcome == Reserved(wanted)
    else:
        assert isinstance(outcome, Rejected)
        # Everything taken goes back, and the rejection names exactly the lines that were not taken.
        assert {line.sku for line in outcome.give_back} == taken_here
        assert set(outcome.short_skus) == {line.sku for line in wanted} - taken_here
        assert all(line in wanted for line in outcome.give_back)


def test_only_an_order_never_seen_reserves() -> None:
    assert on_placed(None)
    for status in ReservationStatus:
        assert not on_placed(status), status


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (None, OnCancel.TOMBSTONE),
        (ReservationStatus.RESERVED, OnCancel.RELEASE),
        (ReservationStatus.REJECTED, OnCancel.NOTHING),
        (ReservationStatus.RELEASED, OnCancel.NOTHING),
        (ReservationStatus.CANCELLED, OnCancel.NOTHING),
    ],
)
def test_a_cancellation_releases_only_held_stock(status: ReservationStatus | None, action: OnCancel) -> None:
    assert on_cancelled(status) is action


@given(st.lists(st.sampled_from(["placed", "cancelled"]), min_size=1, max_size=8))
def test_any_delivery_order_reserves_at_most_once_and_a_cancelled_order_ends_holding_nothing(
    deliveries: list[str],
) -> None:
    """Replays the handlers' decisions over duplicated and reordered deliveries of one order's events."""
    status: ReservationStatus | None = None
    reservations = 0
    for delivery in deliveries:
        if delivery == "placed" and on_placed(status):
            status, reservations = ReservationStatus.RESERVED, reservations + 1
        elif delivery == "cancelled":
            action = on_cancelled(status)
            if action is OnCancel.TOMBSTONE:
                status = ReservationStatus.CANCELLED
            elif action is OnCancel.RELEASE:
                status = ReservationStatus.RELEASED

    assert reservations <= 1
    if "cancelled" in deliveries:
        assert status is not ReservationStatus.RESERVED
