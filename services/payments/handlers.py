"""Payments' side of the order saga: capture on OrderPlaced, refund on OrderCancelled.

The provider is called inside the consumer's transaction. If that transaction rolls back after the call (a
later record of the batch failed, or the process crashed), the event is handled again and the provider is
called again, with the same idempotency key, so the customer is still charged or refunded only once.
`ProviderUnavailable` propagates: the consumer retries the event through its retry topics.
"""

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
    if payment.payment_id is None or payment.amount is None or payment.currency is None:
        # Retrying cannot repair the row; the dead-letter topic gets an operator to look at it.
        raise PermanentFailure(f"captured payment of order {payment.order_id} lacks its id, amount or currency")
    await provider.refund(
        payment_id=payment.payment_id, amount=payment.amount, idempotency_key=f"refund-{payment.order_id}"
    )
    await repository.mark_refunded(uow.session, payment.order_id)
    refunded = PaymentRefunded(
        order_id=payment.order_id, payment_id=payment.payment_id, amount=payment.amount, currency=payment.currency
    )
    uow.publish(new_event(refunded, source=SOURCE))
