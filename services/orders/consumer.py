"""Which inventory and payments events the orders service handles, and with which handler.

Compensations (`StockReleased`, `PaymentRefunded`) are handled too, only to record them on the order: they
never change its status, but an operator reading `GET /orders/{id}` sees that the cancel was undone.
"""

from collections.abc import Mapping

from eventkit.consumer import Handler
from eventkit.events import (
    EventData,
    PaymentCaptured,
    PaymentDeclined,
    PaymentRefunded,
    StockRejected,
    StockReleased,
    StockReserved,
)
from services.orders.handlers import on_payment_answer, on_stock_answer

HANDLERS: Mapping[type[EventData], Handler] = {
    StockReserved: on_stock_answer,
    StockRejected: on_stock_answer,
    StockReleased: on_stock_answer,
    PaymentCaptured: on_payment_answer,
    PaymentDeclined: on_payment_answer,
    PaymentRefunded: on_payment_answer,
}
