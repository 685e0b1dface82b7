"""The event catalog: one frozen Pydantic model per versioned CloudEvent `type`, describing its `data`.

A published version never changes incompatibly (see `eventkit.schemas`); a breaking change is a new type
with the next version suffix, e.g. `orderflow.order.placed.v2`, living next to the old one.
"""

from enum import StrEnum
from typing import Annotated, Any, ClassVar, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from eventkit.vocabulary import Amount, Currency, Identifier, Price, Quantity

# The envelope copies its `type` into the raw data under this key so the discriminated union can pick the
# model; the models ignore it as an unknown key. Dunder-named so it cannot clash with a real data field.
TYPE_KEY = "__type__"

NonEmptyStr = Annotated[str, Field(min_length=1)]


class Payload(BaseModel):
    # extra="ignore": consumers must accept fields that a newer producer added to the same version.
    model_config = ConfigDict(frozen=True, extra="ignore")


class EventData(Payload):
    """Base of every event's `data`; `TYPE` is the CloudEvent type (its topic: `eventkit.topology`)."""

    TYPE: ClassVar[str]

    order_id: UUID


class OrderLine(Payload):
    sku: Identifier
    quantity: Quantity
    unit_price: Price


class OrderPlaced(EventData):
    """A customer placed an order; inventory and payments react to it in parallel."""

    TYPE = "orderflow.order.placed.v1"

    customer_id: Identifier
    items: Annotated[list[OrderLine], Field(min_length=1)]
    currency: Currency
    total: Amount


class OrderConfirmed(EventData):
    """Stock is reserved and payment captured: the saga ended successfully."""

    TYPE = "orderflow.order.confirmed.v1"


class CancelReason(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    PAYMENT_DECLINED = "payment_declined"
    TIMEOUT = "timeout"
    PROCESSING_FAILED = "processing_failed"


class OrderCancelled(EventData):
    """The saga failed; inventory releases the stock and payments refunds what it captured."""

    TYPE = "orderflow.order.cancelled.v1"

    reason: CancelReason
    detail: str = ""


class Reservation(Payload):
    sku: Identifier
    quantity: Quantity


class StockReserved(EventData):
    """Inventory holds the stock for every line of the order."""

    TYPE = "orderflow.stock.reserved.v1"

    items: Annotated[list[Reservation], Field(min_length=1)]


class StockRejected(EventData):
    """Inventory could not reserve the order; nothing is held."""

    TYPE = "orderflow.stock.rejected.v1"

    short_skus: Annotated[list[Identifier], Field(min_length=1)]


class StockReleased(EventData):
    """Inventory gave back the stock of a cancelled order."""

    TYPE = "orderflow.stock.released.v1"


class PaymentCaptured(EventData):
    """The customer was charged the order total."""

    TYPE = "orderflow.payment.captured.v1"

    payment_id: Identifier
    amount: Amount
    currency: Currency


class PaymentDeclined(EventData):
    """The charge failed; nothing was captured."""

    TYPE = "orderflow.payment.declined.v1"

    reason: str


class PaymentRefunded(EventData):
    """A captured payment of a cancelled order was paid back."""

    TYPE = "orderflow.payment.refunded.v1"

    payment_id: Identifier
    amount: Amount
    currency: Currency


def _event_type(value: Any) -> str | None:
    """The union tag: the injected `TYPE_KEY` of raw data, or the `TYPE` of an already built model."""
    if isinstance(value, EventData):
        return value.TYPE
    tag = value.get(TYPE_KEY) if isinstance(value, dict) else None
    return tag if isinstance(tag, str) else None


# Written out (not built from a list) so mypy sees the union; it is the one list of event classes.
AnyEventData = Annotated[
    Annotated[OrderPlaced, Tag(OrderPlaced.TYPE)]
    | Annotated[OrderConfirmed, Tag(OrderConfirmed.TYPE)]
    | Annotated[OrderCancelled, Tag(OrderCancelled.TYPE)]
    | Annotated[StockReserved, Tag(StockReserved.TYPE)]
    | Annotated[StockRejected, Tag(StockRejected.TYPE)]
    | Annotated[StockReleased, Tag(StockReleased.TYPE)]
    | Annotated[PaymentCaptured, Tag(PaymentCaptured.TYPE)]
    | Annotated[PaymentDeclined, Tag(PaymentDeclined.TYPE)]
    | Annotated[PaymentRefunded, Tag(PaymentRefunded.TYPE)],
    Discriminator(_event_type),
]

EVENT_TYPES: tuple[type[EventData], ...] = tuple(get_args(member)[0] for member in get_args(get_args(AnyEventData)[0]))
BY_TYPE: dict[str, type[EventData]] = {cls.TYPE: cls for cls in EVENT_TYPES}
