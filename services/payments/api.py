"""Read-only HTTP API for inspection: an order's payment, and what a customer was charged in net."""

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel

from eventkit.host.context import Context
from eventkit.vocabulary import IDENTIFIER_LENGTH
from services.payments import repository
from services.payments.domain import Payment

router = APIRouter(tags=["payments"])


class CustomerCharges(BaseModel):
    customer_id: str
    net_charged: dict[str, Decimal]  # per currency; refunded payments count zero


async def _known_payment(order_id: UUID, context: Context) -> Payment:
    async with context.sessions() as session:
        payment = await repository.get(session, order_id)
    if payment is None:
        raise HTTPException(status_code=404, detail=f"no payment recorded for order {order_id}")
    return payment


KnownPayment = Annotated[Payment, Depends(_known_payment)]


@router.get(
    "/payments/{order_id}",
    summary="The payment of an order: captured, declined, refunded, or cancelled before any charge",
    responses={404: {"description": "Payments has not seen this order yet"}},
)
async def get_payment(payment: KnownPayment) -> Payment:
    return payment


@router.get(
    "/customers/{customer_id}/charges",
    summary="What a customer paid and was not refunded, per currency (empty if nothing)",
)
async def get_charges(
    customer_id: Annotated[str, Path(min_length=1, max_length=IDENTIFIER_LENGTH)], context: Context
) -> CustomerCharges:
    async with context.sessions() as session:
        net = await repository.net_charged(session, customer_id)
    return CustomerCharges(customer_id=customer_id, net_charged=net)
