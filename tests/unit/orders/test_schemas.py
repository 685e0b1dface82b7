"""Validation of the POST /orders body and of page cursors, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from services.orders.currencies import CURRENCIES, MINOR_UNITS
from services.orders.schemas import PlaceOrderRequest, decode_cursor, encode_cursor


def body(currency: str = "EUR", *prices: Any) -> dict[str, Any]:
    return {
        "customer_id": "c-1",
        "currency": currency,
        "items": [
            {"sku": f"SKU-{n}", "quantity": 1, "unit_price": price} for n, price in enumerate(prices or ["9.99"])
        ],
    }


def error_locations(raw: dict[str, Any]) -> list[tuple[int | str, ...]]:
    with pytest.raises(ValidationError) as caught:
        PlaceOrderRequest.model_validate(raw)
    return [error["loc"] for error in caught.value.errors()]


def test_the_currency_list_holds_current_codes_only() -> None:
    assert {"EUR", "USD", "JPY", "CHF", "XCG", "ZWG", "SLE"} <= CURRENCIES
    assert not {"HRK", "BGN", "ANG", "SLL", "ZWL", "XXX", "XTS", "XAU", "eur"} & CURRENCIES
    assert (MINOR_UNITS["JPY"], MINOR_UNITS["EUR"], MINOR_UNITS["BHD"], MINOR_UNITS["CLF"]) == (0, 2, 3, 4)


@pytest.mark.parametrize("currency", ["XYZ", "eur", "HRK", "EURO", ""])
def test_an_unknown_currency_is_named(currency: str) -> None:
    assert error_locations(body(currency)) == [("currency",)]


@pytest.mark.parametrize(
    ("currency", "price"), [("EUR", "9.999"), ("JPY", "100.5"), ("BHD", "1.0001"), ("EUR", Decimal("0.001"))]
)
def test_a_price_finer_than_the_currency_names_the_line(currency: str, price: Any) -> None:
    assert error_locations(body(currency, "1", price)) == [("items", 1, "unit_price")]


@pytest.mark.parametrize(("currency", "price"), [("EUR", "9.90"), ("EUR", 10), ("JPY", "100.000"), ("BHD", "1.005")])
def test_prices_within_the_currencys_decimals_pass(currency: str, price: Any) -> None:
    PlaceOrderRequest.model_validate(body(currency, price))


def test_the_command_carries_prices_in_the_currencys_minor_units() -> None:
    request = PlaceOrderRequest.model_validate(body("EUR", "9.9", 3))

    command = request.to_command("key-1")

    assert [str(line.unit_price) for line in command.lines] == ["9.90", "3.00"]
    assert command.idempotency_key == "key-1"


def test_a_client_total_is_rejected_rather_than_ignored() -> None:
    assert error_locations({**body(), "total": "1.00"}) == [("total",)]


def test_a_cursor_round_trips_and_garbage_is_refused() -> None:
    keyset = (datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), UUID(int=7))

    assert decode_cursor(encode_cursor(*keyset)) == keyset
    for garbage in ["", "not base64!", encode_cursor(*keyset)[:-4], "MjAyNi0wMS0wMlQwMzowNDowNXx4"]:
        with pytest.raises(ValueError, match="not a cursor"):
            decode_cursor(garbage)
