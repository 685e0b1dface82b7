"""Which events payments reacts to, with the provider the handlers charge through."""

from collections.abc import Mapping
from functools import partial

from eventkit.consumer import Handler
from eventkit.events import EventData, OrderCancelled, OrderPlaced
from services.payments.handlers import capture_payment, refund_payment
from services.payments.provider import PaymentProvider


def handlers(provider: PaymentProvider) -> Mapping[type[EventData], Handler]:
    return {
        OrderPlaced: partial(capture_payment, provider=provider),
        OrderCancelled: partial(refund_payment, provider=provider),
    }
