"""Payments' batch handler on a migrated database: charged and refunded once, a flaky order fails alone."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eventkit.consumer import EventFailed
from eventkit.events import PaymentCaptured, PaymentDeclined, PaymentRefunded
from services.payments.domain import PaymentStatus
from services.payments.handlers import on_orders
from services.payments.provider import ProviderUnavailable, SimulatedProvider
from services.payments.repository import tables
from tests.integration.payments.test_handlers import cancelled, net_charged, payment_of, placed
from tests.support.databases import batch_runner

Sessions = async_sessionmaker[AsyncSession]
handle_batch = batch_runner("payments", tables)


async def test_a_batch_captures_declines_and_refunds_like_the_events_one_by_one(sessions: Sessions) -> None:
    provider = SimulatedProvider()
    batch = partial(on_orders, provider=provider)
    kept, refunded, declined = placed("alice", "10.00"), placed("alice", "5.00"), placed("decline-bob", "7.00")
    events = [kept, refunded, declined, cancelled(refunded.data.order_id), kept]

    answers = await handle_batch(sessions, batch, events)

    assert [type(answer) for answer in answers] == [PaymentCaptured, PaymentCaptured, PaymentDeclined, PaymentRefunded]
    assert await net_charged(sessions, "alice") == {"EUR": Decimal("10.00")}
    stored = await payment_of(sessions, refunded.data.order_id)
    assert stored is not None
    assert stored.status is PaymentStatus.REFUNDED
    assert len(provider.charges) == 2
    assert len(provider.refunds) == 1
    # Delivered again (a new batch of the same events): nothing more happens.
    assert await handle_batch(sessions, batch, events) == []


async def test_a_provider_outage_names_its_event(sessions: Sessions) -> None:
    provider = SimulatedProvider(flaky_failures=1)
    flaky = placed("flaky-carol", "3.00")
    with pytest.raises(EventFailed) as failed:
        await handle_batch(sessions, partial(on_orders, provider=provider), [placed("dave", "1.00"), flaky])
    assert failed.value.event == flaky
    assert isinstance(failed.value.error, ProviderUnavailable)
