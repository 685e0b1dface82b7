"""Payments handlers on a migrated database: capture, decline and refund exactly once, whatever is redelivered."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.consumer import Handler
from eventkit.envelope import CloudEvent, new_event
from eventkit.events import (
    CancelReason,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    PaymentCaptured,
    PaymentDeclined,
    PaymentRefunded,
)
from services.payments import repository
from services.payments.domain import Payment, PaymentStatus
from services.payments.handlers import capture_payment, refund_payment
from services.payments.provider import ProviderUnavailable, SimulatedProvider
from services.payments.repository import tables
from tests.support.databases import handler_runner

Sessions = async_sessionmaker[AsyncSession]


def placed(
    customer: str = "c-1", total: str = "42.50", currency: str = "EUR", order_id: UUID | None = None
) -> CloudEvent:
    line = OrderLine(sku="SKU-1", quantity=1, unit_price=Decimal(total))
    data = OrderPlaced(
        order_id=order_id or uuid4(), customer_id=customer, items=[line], currency=currency, total=Decimal(total)
    )
    return new_event(data, source="/tests")


def cancelled(order_id: UUID) -> CloudEvent:
    return new_event(OrderCancelled(order_id=order_id, reason=CancelReason.OUT_OF_STOCK), source="/tests")


handle = handler_runner("payments", tables)


async def payment_of(sessions: Sessions, order_id: UUID) -> Payment | None:
    async with sessions() as session:
        return await repository.get(session, order_id)


async def net_charged(sessions: Sessions, customer: str) -> dict[str, Decimal]:
    async with sessions() as session:
        return await repository.net_charged(session, customer)


@pytest.fixture
def provider() -> SimulatedProvider:
    return SimulatedProvider(limits={"c-small": Decimal(10)})


@pytest.fixture
def capture(provider: SimulatedProvider) -> Handler:
    return partial(capture_payment, provider=provider)


@pytest.fixture
def refund(provider: SimulatedProvider) -> Handler:
    return partial(refund_payment, provider=provider)


async def test_an_order_is_captured_once_and_announced(
    sessions: Sessions, capture: Handler, provider: SimulatedProvider
) -> None:
    event = placed(total="42.50")

    [answer] = await handle(sessions, capture, event)

    [charge] = provider.charges
    assert answer == PaymentCaptured(
        order_id=event.data.order_id, payment_id=charge.payment_id, amount=Decimal("42.50"), currency="EUR"
    )
    stored = await payment_of(sessions, event.data.order_id)
    assert stored is not None
    assert (stored.status, stored.payment_id, stored.amount) == (
        PaymentStatus.CAPTURED,
        charge.payment_id,
        Decimal("42.50"),
    )
    assert await net_charged(sessions, "c-1") == {"EUR": Decimal("42.50")}


async def test_a_duplicate_placement_under_a_new_event_id_charges_nothing_more(
    sessions: Sessions, capture: Handler, provider: SimulatedProvider
) -> None:
    first = placed()
    await handle(sessions, capture, first)

    assert await handle(sessions, capture, placed(order_id=first.data.order_id)) == []

    assert len(provider.charges) == 1
    assert await net_charged(sessions, "c-1") == {"EUR": Decimal("42.50")}


@pytest.mark.parametrize(
    ("customer", "total", "reason"),
    [
        ("decline-7", "1.00", "card declined"),
        ("c-small", "10.01", "exceeds the customer's limit of 10"),
        ("c-1", "10000.01", "exceeds the customer's limit of 10000"),
    ],
)
async def test_a_declined_capture_is_recorded_and_announced_without_a_charge(
    sessions: Sessions, capture: Handler, provider: SimulatedProvider, customer: str, total: str, reason: str
) -> None:
    event = placed(customer=customer, total=total)

    [answer] = await handle(sessions, capture, event)

    assert isinstance(answer, PaymentDeclined)
    assert reason in answer.reason
    stored = await payment_of(sessions, event.data.order_id)
    assert stored is not None
    assert stored.status is PaymentStatus.DECLINED
    assert not provider.charges
    assert await net_charged(sessions, customer) == {}


async def test_a_cancellation_refunds_a_captured_payment_once(
    sessions: Sessions, capture: Handler, refund: Handler, provider: SimulatedProvider
) -> None:
    order = placed()
    [captured] = await handle(sessions, capture, order)
    assert isinstance(captured, PaymentCaptured)

    assert await handle(sessions, refund, cancelled(order.data.order_id)) == [
        PaymentRefunded(
            order_id=order.data.order_id, payment_id=captured.payment_id, amount=Decimal("42.50"), currency="EUR"
        )
    ]
    assert await handle(sessions, refund, cancelled(order.data.order_id)) == []

    assert len(provider.refunds) == 1
    stored = await payment_of(sessions, order.data.order_id)
    assert stored is not None
    assert stored.status is PaymentStatus.REFUNDED
    assert await net_charged(sessions, "c-1") == {}


async def test_cancelling_a_declined_payment_refunds_nothing(
    sessions: Sessions, capture: Handler, refund: Handler, provider: SimulatedProvider
) -> None:
    order = placed(customer="decline-1")
    await handle(sessions, capture, order)

    assert await handle(sessions, refund, cancelled(order.data.order_id)) == []
    assert not provider.refunds


async def test_a_cancellation_before_the_placement_means_the_order_is_never_charged(
    sessions: Sessions, capture: Handler, refund: Handler, provider: SimulatedProvider
) -> None:
    order = placed()

    assert await handle(sessions, refund, cancelled(order.data.order_id)) == []
    assert await handle(sessions, capture, order) == []
    assert await handle(sessions, refund, cancelled(order.data.order_id)) == []

    assert not provider.charges
    assert not provider.refunds
    stored = await payment_of(sessions, order.data.order_id)
    assert stored == Payment(order_id=order.data.order_id, status=PaymentStatus.CANCELLED)


async def test_a_provider_outage_raises_so_the_event_is_retried_then_captures_once(
    sessions: Sessions, capture: Handler, provider: SimulatedProvider
) -> None:
    order = placed(customer="flaky-3")

    for _ in range(provider.flaky_failures):
        with pytest.raises(ProviderUnavailable):
            await handle(sessions, capture, order)
        assert await payment_of(sessions, order.data.order_id) is None
    [answer] = await handle(sessions, capture, order)

    assert isinstance(answer, PaymentCaptured)
    assert len(provider.charges) == 1


async def test_a_refund_outage_raises_and_leaves_the_payment_captured_until_a_retry_succeeds(
    sessions: Sessions, capture: Handler
) -> None:
    order = placed()
    await handle(sessions, capture, order)
    outage = SimulatedProvider(transient_failure_rate=1.0, flaky_failures=1)
    flaky_refund = partial(refund_payment, provider=outage)

    with pytest.raises(ProviderUnavailable):
        await handle(sessions, flaky_refund, cancelled(order.data.order_id))
    stored = await payment_of(sessions, order.data.order_id)
    assert stored is not None
    assert stored.status is PaymentStatus.CAPTURED

    [answer] = await handle(sessions, flaky_refund, cancelled(order.data.order_id))
    assert isinstance(answer, PaymentRefunded)
    assert len(outage.refunds) == 1


async def test_a_capture_rolled_back_after_the_provider_call_does_not_charge_again_on_redelivery(
    sessions: Sessions, capture: Handler, provider: SimulatedProvider
) -> None:
    order = placed()
    with pytest.raises(RuntimeError, match="crash"):
        await handle(sessions, capture, order, crash=True)
    assert await payment_of(sessions, order.data.order_id) is None

    [answer] = await handle(sessions, capture, order)

    # The provider saw the same idempotency key twice and charged once.
    [charge] = provider.charges
    assert isinstance(answer, PaymentCaptured)
    assert answer.payment_id == charge.payment_id


async def test_net_charges_are_kept_per_currency(sessions: Sessions, capture: Handler, refund: Handler) -> None:
    await handle(sessions, capture, placed(customer="c-9", total="10.00", currency="EUR"))
    await handle(sessions, capture, placed(customer="c-9", total="0.10", currency="EUR"))
    await handle(sessions, capture, placed(customer="c-9", total="7.25", currency="USD"))
    refunded = placed(customer="c-9", total="99.00", currency="USD")
    await handle(sessions, capture, refunded)
    await handle(sessions, refund, cancelled(refunded.data.order_id))

    assert await net_charged(sessions, "c-9") == {"EUR": Decimal("10.10"), "USD": Decimal("7.25")}
