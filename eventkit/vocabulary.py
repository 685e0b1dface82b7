"""The vocabulary the services share: identifiers, quantities and money, in events, APIs and tables alike.

Declared once here (and as column types in `eventkit.columns`), so an SKU that the orders API accepts fits
inventory's table and the event contract:

- identifiers (SKUs, customer ids, payment ids): 1 to `IDENTIFIER_LENGTH` characters;
- money: exact decimals of at most `MONEY_DIGITS` digits, `MONEY_PLACES` of them after the point (the most any
  ISO 4217 currency has: CLF, UYW).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

IDENTIFIER_LENGTH = 128
MONEY_DIGITS = 24
MONEY_PLACES = 4


def _not_a_bool(value: Any) -> Any:
    # JSON Schema's integer admits 1.0 but not true; pydantic's lax int would take both, strict neither.
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer, not a boolean")
    return value


# Placed after a field's constraints (pydantic documents them only when they come before a validator).
NOT_A_BOOL = BeforeValidator(_not_a_bool)
Identifier = Annotated[str, Field(min_length=1, max_length=IDENTIFIER_LENGTH)]
Quantity = Annotated[int, Field(gt=0), NOT_A_BOOL]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR")]
# An amount of money: never negative, never more digits than a Money column holds.
Amount = Annotated[Decimal, Field(ge=0, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)]
Price = Annotated[Decimal, Field(gt=0, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)]
