"""Column types and naming of the services' tables, from the shared vocabulary (`eventkit.vocabulary`).

- money: exact decimals, NUMERIC on PostgreSQL and decimal text on SQLite;
- time: aware UTC datetimes in Python, whatever the database hands back;
- identifiers: one length for SKUs, customer ids and payment ids;
- constraint names: one convention for every service's metadata, so migrations can name them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

from eventkit.vocabulary import IDENTIFIER_LENGTH, MONEY_DIGITS, MONEY_PLACES

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    """The metadata of one service's database, with deterministic constraint names on every database."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def identifier_type() -> String:
    return String(IDENTIFIER_LENGTH)


class Money(TypeDecorator[Decimal]):
    """NUMERIC(24, 4) on PostgreSQL; exact decimal text on SQLite, which has no decimal type and would
    round-trip amounts through binary floating point (123456789012345.6789 came back as ...6719)."""

    impl = Numeric(MONEY_DIGITS, MONEY_PLACES)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))  # room for every digit, the point and a sign
        return dialect.type_descriptor(Numeric(MONEY_DIGITS, MONEY_PLACES))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return format(value, "f")  # plain digits, never exponent notation such as 1E+2

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """Always an aware UTC datetime in Python; SQLite stores it without an offset and returns it naive."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: orderflow stores aware UTC datetimes only")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)
