"""The HTTP bodies of the orders API, as Pydantic models so that /docs describes every field.

Money: amounts are decimals. Requests may send them as JSON numbers or strings; numbers are parsed as
decimals straight from the JSON text (see `api.py`), so `19.99` never passes through binary floating point.
A unit price may have at most as many decimal places as its currency's minor unit (EUR 2, JPY 0, BHD 3);
anything finer is rejected rather than rounded. Responses carry amounts as strings with exactly the
currency's decimal places, e.g. "39.98".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlalchemy import RowMapping

from eventkit.events import CancelReason, OrderLine
from eventkit.vocabulary import NOT_A_BOOL, Identifier
from services.orders.commands import PlaceOrder
from services.orders.currencies import CURRENCIES, MINOR_UNITS
from services.orders.domain import OrderStatus, PaymentAnswer, StockAnswer

MAX_ITEMS = 100
MAX_QUANTITY = 1_000_000
PRICE_LIMIT = Decimal(10) ** 10


def _iso_4217(code: str) -> str:
    if code not in CURRENCIES:
        raise PydanticCustomError("currency", "{code} is not an ISO 4217 currency code", {"code": code})
    return code


Currency = Annotated[
    str,
    Field(description="ISO 4217 code, upper case", examples=["EUR"], json_schema_extra={"enum": sorted(CURRENCIES)}),
    AfterValidator(_iso_4217),
]


def price_schema(places: int) -> dict[str, Any]:
    """A positive price below PRICE_LIMIT with at most `places` decimals, as a JSON number or a string: exactly
    what the validation accepts, so the OpenAPI document neither allows more nor less."""
    fraction = rf"(\.[0-9]{{1,{places}}})?" if places else ""
    step = 1 if places == 0 else float(Decimal(1).scaleb(-places))
    return {
        "anyOf": [
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": float(PRICE_LIMIT), "multipleOf": step},
            # Digits and an optional fraction, never zero: "0", "0.00" and "" are not prices.
            {"type": "string", "pattern": rf"^(?!0+(\.0*)?$)(0|[1-9][0-9]{{0,9}}){fraction}$"},
        ]
    }


def _replace(schema: dict[str, Any], exact: dict[str, Any]) -> None:
    """Pydantic's Decimal schema (any string) replaced by the exact one; title, description and examples kept."""
    schema.pop("anyOf", None)
    schema.update(exact)


def _prices_by_currency(schema: dict[str, Any]) -> None:
    """Each currency's prices take at most its minor units (EUR 2, JPY 0, BHD 3), said in the schema with
    if/then so that generated and hand-written clients know it before they send."""
    by_places: dict[int, list[str]] = {}
    for code, places in MINOR_UNITS.items():
        by_places.setdefault(places, []).append(code)
    schema["allOf"] = [
        {
            "if": {"properties": {"currency": {"enum": sorted(codes)}}, "required": ["currency"]},
            "then": {"properties": {"items": {"items": {"properties": {"unit_price": price_schema(places)}}}}},
        }
        for places, codes in sorted(by_places.items())
    ]


def _step(currency: str) -> Decimal:
    """The currency's smallest unit, e.g. 0.01 for EUR and 1 for JPY."""
    return Decimal(1).scaleb(-MINOR_UNITS[currency])


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Annotated[Identifier, Field(examples=["MUG-RED-350"])]
    quantity: Annotated[int, Field(gt=0, le=MAX_QUANTITY, examples=[2]), NOT_A_BOOL]
    unit_price: Annotated[
        Decimal,
        Field(
            gt=0,
            lt=PRICE_LIMIT,
            description="JSON number or string, at most the currency's decimal places",
            examples=["12.50"],
            json_schema_extra=lambda schema: _replace(schema, price_schema(max(MINOR_UNITS.values()))),
        ),
    ]


class PlaceOrderRequest(BaseModel):
    # Unknown fields are errors: a client sending its own "total" must learn that the server computes it.
    model_config = ConfigDict(extra="forbid", json_schema_extra=_prices_by_currency)

    customer_id: Annotated[Identifier, Field(examples=["customer-1842"])]
    currency: Currency  # declared before items: the items validator reads it
    items: Annotated[list[LineIn], Field(min_length=1, max_length=MAX_ITEMS)]

    @field_validator("items")
    @classmethod
    def _prices_fit_currency(cls, items: list[LineIn], info: ValidationInfo) -> list[LineIn]:
        currency = info.data.get("currency")
        if currency is None:
            return items  # the currency itself is invalid and already reported
        step = _step(currency)
        errors = [
            InitErrorDetails(
                type=PydanticCustomError(
                    "decimal_places",
                    "{currency} prices have at most {places} decimal places",
                    {"currency": currency, "places": MINOR_UNITS[currency]},
                ),
                loc=(index, "unit_price"),  # nested under "items" by pydantic: the exact field is named
                input=item.unit_price,
            )
            for index, item in enumerate(items)
            if item.unit_price != item.unit_price.quantize(step)
        ]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return items

    def to_command(self, idempotency_key: str | None) -> PlaceOrder:
        step = _step(self.currency)
        lines = tuple(
            OrderLine(sku=item.sku, quantity=item.quantity, unit_price=item.unit_price.quantize(step))
            for item in self.items
        )
        return PlaceOrder(self.customer_id, self.currency, lines, idempotency_key)


class OrderAccepted(BaseModel):
    order_id: UUID
    status: OrderStatus = Field(description="PENDING for a new order; the current status for a replay")


class LineOut(BaseModel):
    sku: str
    quantity: int
    unit_price: Decimal


class OrderSummary(BaseModel):
    order_id: UUID
    customer_id: str
    currency: str
    total: Decimal = Field(description="Sum of quantity x unit price, computed by the server")
    status: OrderStatus
    cancel_reason: CancelReason | None
    cancel_detail: str
    stock_answer: StockAnswer | None = Field(description="Inventory's latest answer")
    payment_answer: PaymentAnswer | None = Field(description="Payments' latest answer")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> OrderSummary:
        return cls.model_validate(_summary_fields(row))


class OrderDetail(OrderSummary):
    items: list[LineOut]

    @classmethod
    def of_rows(cls, row: RowMapping, lines: Sequence[RowMapping]) -> OrderDetail:
        step = _step(row["currency"])
        items = [
            LineOut(sku=line["sku"], quantity=line["quantity"], unit_price=line["unit_price"].quantize(step))
            for line in lines
        ]
        return cls.model_validate({**_summary_fields(row), "items": items})


class OrderPage(BaseModel):
    items: list[OrderSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


def _summary_fields(row: RowMapping) -> dict[str, Any]:
    fields = {name: row[name] for name in OrderSummary.model_fields if name in row}
    return {**fields, "order_id": row["id"], "total": row["total"].quantize(_step(row["currency"]))}


# The keyset (created_at, id) of the last order on a page: microseconds since the epoch and the id's hex. Any string
# of this shape is a cursor, so the pattern in the OpenAPI document is the whole rule.
CURSOR_PATTERN = r"^[0-9]{1,17}\.[0-9a-f]{32}$"
_CURSOR = re.compile(CURSOR_PATTERN.removeprefix("^").removesuffix("$"))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(created_at: datetime, order_id: UUID) -> str:
    return f"{(created_at - _EPOCH) // _MICROSECOND}.{order_id.hex}"


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The keyset of a cursor of the documented shape; ValueError for anything else (the API checks the pattern
    first, so a client only meets this through a 422 naming `cursor`)."""
    if _CURSOR.fullmatch(cursor) is None:
        raise ValueError(f"not a cursor: {cursor!r}")
    micros, order_hex = cursor.split(".")
    return _EPOCH + int(micros) * _MICROSECOND, UUID(hex=order_hex)
