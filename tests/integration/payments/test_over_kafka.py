"""Payments with its consumer and relay on a real broker: orders in, captures, declines and refunds out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from eventkit.consumer import ConsumerOptions
from eventkit.envelope import CloudEvent
from eventkit.events import CancelReason, PaymentCaptured, PaymentDeclined, PaymentRefunded
from eventkit.retry import ATTEMPTS
from services.payments.app import create_app
from services.payments.provider import SimulatedProvider
from services.payments.settings import PaymentsSettings
from tests.support.events import cancelled
from tests.support.events import placed as placed_order
from tests.support.kafka import KafkaCluster, read_all
from tests.support.services import RunningService, running_service

pytestmark = pytest.mark.kafka


@pytest.fixture
def provider() -> SimulatedProvider:
    return SimulatedProvider(flaky_failures=2)


@pytest.fixture
async def payments(
    migrated_url: str, kafka: KafkaCluster, provider: SimulatedProvider
) -> AsyncIterator[RunningService]:
    settings = await kafka.isolated(partitions=3, retry_levels=2)
    options = PaymentsSettings(
        database_url=migrated_url, consumer=ConsumerOptions(retry_levels=2, retry_backoff_seconds=0.2)
    )
    async with running_service(create_app(options, kafka=settings, provider=provider), settings) as service:
        yield service


def placed(customer: str, total: str = "30.00") -> CloudEvent:
    return placed_order(customer, ("SKU-1", 1, total))


async def test_placed_orders_are_answered_once_and_an_outage_is_retried_until_captured(
    payments: RunningService, provider: SimulatedProvider
) -> None:
    ordinary, declined, flaky = placed("c-1"), placed("decline-1"), placed("flaky-1")

    await payments.send(ordinary, declined, flaky, ordinary)  # `ordinary` redelivered

    by_order = {answer.order_id: answer for answer in await payments.answers(expected=3)}
    assert isinstance(by_order[ordinary.data.order_id], PaymentCaptured)
    assert isinstance(by_order[declined.data.order_id], PaymentDeclined)
    assert isinstance(by_order[flaky.data.order_id], PaymentCaptured)
    # The outage outlived the record-by-record re-apply of its batch, so it travelled through a retry topic.
    [hop] = await read_all(payments.kafka, payments.kafka.topic("orders.retry.1"), expected=1)
    assert dict(hop.headers)[ATTEMPTS] == b"1"
    assert sorted(charge.customer_id for charge in provider.charges) == ["c-1", "flaky-1"]


async def test_a_cancelled_order_is_refunded_once_over_kafka(
    payments: RunningService, provider: SimulatedProvider
) -> None:
    order = placed("c-2")
    await payments.send(order)
    [captured] = await payments.answers(expected=1)
    assert isinstance(captured, PaymentCaptured)

    cancel = CancelReason.OUT_OF_STOCK
    # The same cancellation twice under different event ids: a business-level duplicate.
    await payments.send(cancelled(order.data.order_id, cancel), cancelled(order.data.order_id, cancel))

    [_, refunded] = await payments.answers(expected=2)
    assert refunded == PaymentRefunded(
        order_id=order.data.order_id, payment_id=captured.payment_id, amount=Decimal("30.00"), currency="EUR"
    )
    assert len(provider.refunds) == 1
