"""The PlaceOrder command: the server-side total and the idempotency fingerprint."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from eventkit.events import OrderLine
from services.orders.commands import PlaceOrder

ORDER_ID = UUID("5f0c8a52-4c1e-4a8e-9d38-2b6f1e7c9a11")


def command(currency: str = "EUR", *prices: str, customer: str = "c-1") -> PlaceOrder:
    lines = tuple(
        OrderLine(sku=f"SKU-{number}", quantity=number, unit_price=Decimal(price))
        for number, price in enumerate(prices or ("12.50", "0.99"), start=1)
    )
    return PlaceOrder(customer_id=customer, currency=currency, lines=lines)


@pytest.mark.parametrize(
    ("currency", "prices", "total"),
    [("EUR", ("12.50", "0.99"), "14.48"), ("JPY", ("1200", "5"), "1210"), ("BHD", ("1.005", "0.001"), "1.007")],
)
def test_the_total_is_the_exact_sum_in_the_currencys_minor_units(
    currency: str, prices: tuple[str, ...], total: str
) -> None:
    placed = command(currency, *prices)

    assert str(placed.total) == total
    assert placed.placed(ORDER_ID).total == Decimal(total)


def test_the_fingerprint_ignores_how_a_price_is_spelled_but_not_what_is_ordered() -> None:
    assert command("EUR", "12.5").fingerprint() == command("EUR", "12.50").fingerprint()
    assert command("EUR", "12.5").fingerprint() != command("EUR", "12.51").fingerprint()
    assert command("EUR", "12.5").fingerprint() != command("USD", "12.5").fingerprint()
    assert command("EUR", "12.5").fingerprint() != command("EUR", "12.5", customer="c-2").fingerprint()
