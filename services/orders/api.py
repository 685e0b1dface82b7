"""HTTP entrypoint: validate, hand a command to a handler or read a view, answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from opentelemetry import trace

from eventkit.host.context import Context, ServiceContext
from eventkit.observability.spans import order_attributes
from services.orders import views
from services.orders.body import MAX_BODY_BYTES, BoundedJSONRoute
from services.orders.desk import OrderDesk
from services.orders.domain import OrderStatus
from services.orders.handlers import IdempotencyKeyReused
from services.orders.schemas import (
    CURSOR_PATTERN,
    OrderAccepted,
    OrderDetail,
    OrderPage,
    OrderSummary,
    PlaceOrderRequest,
    decode_cursor,
    encode_cursor,
)

router = APIRouter(prefix="/orders", tags=["orders"], route_class=BoundedJSONRoute)

MAX_WAIT_SECONDS = 30


async def _desk(request: Request) -> OrderDesk:
    """The process's coalescing desk (made at start-up): concurrent requests share transactions and queries.

    One flat dependency for the hot routes (FastAPI solves every dependency level on every request), and
    async: FastAPI runs a plain `def` dependency in a worker thread."""
    context: ServiceContext = request.app.state.context
    return context.resource(OrderDesk)


async def _cursor(
    cursor: Annotated[
        str | None, Query(pattern=CURSOR_PATTERN, description="`next_cursor` of the previous page")
    ] = None,
) -> tuple[datetime, UUID] | None:
    return None if cursor is None else decode_cursor(cursor)


Desk = Annotated[OrderDesk, Depends(_desk)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        description="Client-chosen key: retrying with the same key and body returns the same order",
    ),
]


@router.post(
    "",
    status_code=202,
    summary="Place an order",
    description="Accepts the order as PENDING; inventory and payments then confirm or cancel it. "
    "The `Location` header names the order; follow it (with `?wait=`) for the outcome.",
    responses={
        409: {"description": "The Idempotency-Key was already used with a different body"},
        413: {"description": f"The body is larger than {MAX_BODY_BYTES} bytes"},
    },
)
async def post_order(
    body: PlaceOrderRequest, desk: Desk, response: Response, idempotency_key: IdempotencyKey = None
) -> OrderAccepted:
    try:
        accepted, response.headers["Location"] = await place(desk, body, idempotency_key)
    except IdempotencyKeyReused as error:
        raise HTTPException(409, str(error)) from error
    return accepted


async def place(desk: OrderDesk, body: PlaceOrderRequest, idempotency_key: str | None) -> tuple[OrderAccepted, str]:
    """What POST /orders answers (the route here and the hot path, hotpath.py): the body and its Location."""
    placed = await desk.place(body.to_command(idempotency_key))
    if (span := trace.get_current_span()).is_recording():  # no attributes built for an untraced request
        span.set_attributes(order_attributes(placed.order_id, placed.status))
    return OrderAccepted(order_id=placed.order_id, status=placed.status), f"/orders/{placed.order_id}"


@router.get(
    "/{order_id}",
    summary="Read an order, optionally waiting for its outcome",
    description="With `wait=N` the request holds for up to N seconds while the order is PENDING and answers "
    "as soon as it is CONFIRMED or CANCELLED. Either way the answer is 200 with the order's current state: a "
    "PENDING status after a wait means the time ran out, not an error. 404 if no such order exists.",
    responses={404: {"description": "No order with this id"}},
)
async def get_order(
    order_id: UUID,
    desk: Desk,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for a final state")] = 0,
) -> OrderDetail:
    order = await current(desk, order_id, wait)
    if order is None:
        raise HTTPException(404, f"no order {order_id}")
    return order


async def current(desk: OrderDesk, order_id: UUID, wait: float) -> OrderDetail | None:
    """What GET /orders/{id} answers (the route here and the hot path): the order, once settled or after `wait`
    seconds; None if there is no such order."""
    order = await desk.read(order_id)
    if order is not None and wait > 0 and order.status is OrderStatus.PENDING:
        await desk.watcher.wait(order_id, wait)
        order = await desk.read(order_id)
    if order is not None and (span := trace.get_current_span()).is_recording():
        span.set_attributes(order_attributes(order_id, order.status, order.cancel_reason))
    return order


@router.get("", summary="List orders, newest first")
async def list_orders(
    context: Context,
    after: Annotated[tuple[datetime, UUID] | None, Depends(_cursor)],
    status: Annotated[OrderStatus | None, Query(description="Only orders in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> OrderPage:
    async with context.sessions() as session:
        rows = await views.page(session, status, limit + 1, after)  # one extra row tells if a next page exists
    items = [OrderSummary.of(row) for row in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    return OrderPage(items=items, next_cursor=last and encode_cursor(last.created_at, last.order_id))
