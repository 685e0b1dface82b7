"""Payments' side of the order saga: capture on OrderPlaced, refund on OrderCancelled.

The provider is called inside the consumer's transaction. If that transaction rolls back after the call (a
later record of the batch failed, or the process crashed), the event is handled again and the provider is
called again, with the same idempotency key, so the customer is still charged or refunded only once.
`ProviderUnavailable` propagates: the consumer retries the event through its retry topics.
"""

from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from eventkit.consumer import EventFailed
from eventkit.envelope import CloudEvent, data_of, new_event
from eventkit.errors import PermanentFailure
from eventkit.events import OrderCancelled, OrderPlaced, PaymentRefunded
from eventkit.messaging import UnitOfWork
from services.payments import repository
from services.payments.domain import OnCancel, Payment, PaymentStatus, on_cancelled, on_placed, settle
from services.payments.provider import PaymentProvider

SOURCE = "/orderflow/payments"


async def capture_payment(uow: UnitOfWork, event: CloudEvent, *, provider: PaymentProvider) -> None:
    placed = data_of(event, OrderPlaced)
    session = uow.session
    known = await repository.get(session, placed.order_id)
    if not on_placed(known.status if known else None):
        return
    result = await provider.capture(
        customer_id=placed.customer_id,
        order_id=placed.order_id,
        amount=placed.total,
        currency=placed.currency,
        idempotency_key=str(placed.order_id),
    )
    payment, answer = settle(placed, result)
    await repository.add(session, payment)
    uow.publish(new_event(answer, source=SOURCE))


async def refund_payment(uow: UnitOfWork, event: CloudEvent, *, provider: PaymentProvider) -> None:
    cancelled = data_of(event, OrderCancelled)
    session = uow.session
    payment = await repository.get(session, cancelled.order_id)
    match on_cancelled(payment.status if payment else None):
        case OnCancel.TOMBSTONE:
            await repository.add(session, Payment(order_id=cancelled.order_id, status=PaymentStatus.CANCELLED))
        case OnCancel.REFUND if payment is not None:
            await _refund(uow, payment, provider)
        case _:
            pass  # nothing was charged, or it was refunded already


async def _refund(uow: UnitOfWork, payment: Payment, provider: PaymentProvider) -> None:
    refunded = await _refund_call(payment, provider)
    await repository.mark_refunded(uow.session, payment.order_id)
    uow.publish(new_event(refunded, source=SOURCE))


async def _refund_call(payment: Payment, provider: PaymentProvider) -> PaymentRefunded:
    """Refund a captured payment at the provider; the answer that announces it."""
    if payment.payment_id is None or payment.amount is None or payment.currency is None:
        # Retrying cannot repair the row; the dead-letter topic gets an operator to look at it.
        raise PermanentFailure(f"captured payment of order {payment.order_id} lacks its id, amount or currency")
    await provider.refund(
        payment_id=payment.payment_id, amount=payment.amount, idempotency_key=f"refund-{payment.order_id}"
    )
    return PaymentRefunded(
        order_id=payment.order_id, payment_id=payment.payment_id, amount=payment.amount, currency=payment.currency
    )


async def on_orders(uow: UnitOfWork, events: Sequence[CloudEvent], *, provider: PaymentProvider) -> None:
    """A poll batch of OrderPlaced/OrderCancelled, set-based: one read of every payment concerned, the provider
    called per event in order, one insert of the new payments and one update of the refunded ones.

    The outcome is the per-event handlers' applied one after the other. A provider error fails its event only
    (`EventFailed`, to the retry topic); the others' calls are repeated with the same idempotency keys when the
    runtime applies the batch again without it, so nobody is charged twice.
    """
    session = uow.session
    known = await repository.get_many(session, {_order_event(event).order_id for event in events})
    new: dict[UUID, Payment] = {}
    refunded: set[UUID] = set()
    for event in events:
        data = _order_event(event)
        payment = known.get(data.order_id)
        status = payment.status if payment else None
        try:
            if isinstance(data, OrderPlaced):
                if not on_placed(status):
                    continue
                result = await provider.capture(
                    customer_id=data.customer_id,
                    order_id=data.order_id,
                    amount=data.total,
                    currency=data.currency,
                    idempotency_key=str(data.order_id),
                )
                payment, answer = settle(data, result)
                known[data.order_id] = new[data.order_id] = payment
                uow.publish(new_event(answer, source=SOURCE), cause=event)
                continue
            match on_cancelled(status):
                case OnCancel.TOMBSTONE:
                    tombstone = Payment(order_id=data.order_id, status=PaymentStatus.CANCELLED)
                    known[data.order_id] = new[data.order_id] = tombstone
                case OnCancel.REFUND if payment is not None:
                    refund = await _refund_call(payment, provider)
                    known[data.order_id] = replace(payment, status=PaymentStatus.REFUNDED)
                    if data.order_id in new:
                        new[data.order_id] = known[data.order_id]
                    else:
                        refunded.add(data.order_id)
                    uow.publish(new_event(refund, source=SOURCE), cause=event)
                case _:
                    pass
        except Exception as error:
            raise EventFailed(event, error) from error
    await repository.add_many(session, list(new.values()))
    await repository.mark_refunded_many(session, refunded)


def _order_event(event: CloudEvent) -> OrderPlaced | OrderCancelled:
    if not isinstance(event.data, OrderPlaced | OrderCancelled):
        raise EventFailed(event, PermanentFailure(f"{event.type} is not an event payments handles"))
    return event.data
