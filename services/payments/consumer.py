"""Which events payments reacts to, with the provider the handlers charge through."""

from collections.abc import Mapping
from functools import partial

from eventkit.consumer import BatchHandler, Handler
from eventkit.events import EventData, OrderCancelled, OrderPlaced
from services.payments.handlers import capture_payment, on_orders, refund_payment
from services.payments.provider import PaymentProvider


def handlers(provider: PaymentProvider) -> Mapping[type[EventData], Handler]:
    return {
        OrderPlaced: partial(capture_payment, provider=provider),
        OrderCancelled: partial(refund_payment, provider=provider),
    }


def batch_handler(provider: PaymentProvider) -> BatchHandler:
    return partial(on_orders, provider=provider)
