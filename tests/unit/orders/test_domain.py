"""The saga decision over every state and answer."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventkit.events import (
    CancelReason,
    OrderCancelled,
    OrderConfirmed,
    PaymentCaptured,
    PaymentDeclined,
    PaymentRefunded,
    StockRejected,
    StockReleased,
    StockReserved,
)
from services.orders.domain import (
    Answer,
    Order,
    OrderStatus,
    PaymentAnswer,
    PendingTimeout,
    StockAnswer,
    decide,
)

ORDER_ID = UUID("5f0c8a52-4c1e-4a8e-9d38-2b6f1e7c9a11")
RESERVED = StockReserved(order_id=ORDER_ID, items=[{"sku": "MUG", "quantity": 1}])
REJECTED = StockRejected(order_id=ORDER_ID, short_skus=["MUG", "TEA"])
RELEASED = StockReleased(order_id=ORDER_ID)
CAPTURED = PaymentCaptured(order_id=ORDER_ID, payment_id="pay-1", amount=Decimal("9.99"), currency="EUR")
DECLINED = PaymentDeclined(order_id=ORDER_ID, reason="card expired")
REFUNDED = PaymentRefunded(order_id=ORDER_ID, payment_id="pay-1", amount=Decimal("9.99"), currency="EUR")
TIMEOUT = PendingTimeout()
ALL_ANSWERS: list[Answer] = [RESERVED, REJECTED, RELEASED, CAPTURED, DECLINED, REFUNDED, TIMEOUT]

PENDING = Order(ORDER_ID)
CONFIRMED = Order(ORDER_ID, OrderStatus.CONFIRMED, StockAnswer.RESERVED, PaymentAnswer.CAPTURED)
CANCELLED = Order(
    ORDER_ID, OrderStatus.CANCELLED, StockAnswer.REJECTED, None, CancelReason.OUT_OF_STOCK, "short SKUs: MUG"
)


@pytest.mark.parametrize(
    ("answer", "status", "stock", "payment", "event"),
    [
        (RESERVED, OrderStatus.PENDING, StockAnswer.RESERVED, None, None),
        (
            REJECTED,
            OrderStatus.CANCELLED,
            StockAnswer.REJECTED,
            None,
            OrderCancelled(order_id=ORDER_ID, reason=CancelReason.OUT_OF_STOCK, detail="short SKUs: MUG, TEA"),
        ),
        (RELEASED, OrderStatus.PENDING, StockAnswer.RELEASED, None, None),
        (CAPTURED, OrderStatus.PENDING, None, PaymentAnswer.CAPTURED, None),
        (
            DECLINED,
            OrderStatus.CANCELLED,
            None,
            PaymentAnswer.DECLINED,
            OrderCancelled(order_id=ORDER_ID, reason=CancelReason.PAYMENT_DECLINED, detail="card expired"),
        ),
        (REFUNDED, OrderStatus.PENDING, None, PaymentAnswer.REFUNDED, None),
        (
            TIMEOUT,
            OrderStatus.CANCELLED,
            None,
            None,
            OrderCancelled(
                order_id=ORDER_ID,
                reason=CancelReason.TIMEOUT,
                detail="no answer in time from inventory and payments",
            ),
        ),
    ],
)
def test_a_first_answer_to_a_pending_order(
    answer: Answer,
    status: OrderStatus,
    stock: StockAnswer | None,
    payment: PaymentAnswer | None,
    event: OrderCancelled | None,
) -> None:
    decision = decide(PENDING, answer)

    assert (decision.order.status, decision.order.stock, decision.order.payment) == (status, stock, payment)
    assert decision.event == event
    if isinstance(event, OrderCancelled):
        assert (decision.order.cancel_reason, decision.order.cancel_detail) == (event.reason, event.detail)


@pytest.mark.parametrize(
    ("before", "answer"),
    [
        (replace(PENDING, stock=StockAnswer.RESERVED), CAPTURED),
        (replace(PENDING, payment=PaymentAnswer.CAPTURED), RESERVED),
    ],
)
def test_the_second_positive_answer_confirms(before: Order, answer: Answer) -> None:
    decision = decide(before, answer)

    assert decision.order == CONFIRMED
    assert decision.event == OrderConfirmed(order_id=ORDER_ID)


@pytest.mark.parametrize(
    "before", [replace(PENDING, stock=StockAnswer.RESERVED), replace(PENDING, payment=PaymentAnswer.CAPTURED)]
)
def test_a_timeout_after_one_answer_names_the_silent_side(before: Order) -> None:
    decision = decide(before, TIMEOUT)

    silent = "payments" if before.stock else "inventory"
    assert decision.event == OrderCancelled(
        order_id=ORDER_ID, reason=CancelReason.TIMEOUT, detail=f"no answer in time from {silent}"
    )


@pytest.mark.parametrize("terminal", [CONFIRMED, CANCELLED], ids=["confirmed", "cancelled"])
@pytest.mark.parametrize("answer", ALL_ANSWERS, ids=lambda answer: type(answer).__name__)
def test_a_terminal_order_keeps_its_status_and_emits_nothing(terminal: Order, answer: Answer) -> None:
    decision = decide(terminal, answer)

    assert decision.event is None
    assert decision.order.status is terminal.status
    assert (decision.order.cancel_reason, decision.order.cancel_detail) == (
        terminal.cancel_reason,
        terminal.cancel_detail,
    )


def test_a_late_stock_reservation_after_a_cancel_is_recorded_without_an_event() -> None:
    # Inventory releases it when it handles the OrderCancelled that follows the OrderPlaced in its partition.
    timed_out = decide(PENDING, TIMEOUT).order

    decision = decide(timed_out, RESERVED)

    assert decision.event is None
    assert decision.order == replace(timed_out, stock=StockAnswer.RESERVED)


@pytest.mark.parametrize(("early", "compensation"), [(RESERVED, RELEASED), (CAPTURED, REFUNDED)])
def test_a_retried_early_answer_does_not_overwrite_a_compensation(early: Answer, compensation: Answer) -> None:
    compensated = decide(CANCELLED, compensation).order

    assert decide(compensated, early).order == compensated


@pytest.mark.parametrize("answer", [RELEASED, REFUNDED])
def test_a_compensation_while_pending_never_lets_the_order_confirm(answer: Answer) -> None:
    order = decide(PENDING, answer).order

    for other in (RESERVED, CAPTURED):
        order = decide(order, other).order

    assert order.status is OrderStatus.PENDING  # the sweeper cancels it


# --- properties over arbitrary interleavings -------------------------------------------------------------

stock_answers: st.SearchStrategy[Answer] = st.sampled_from([RESERVED, REJECTED])
payment_answers: st.SearchStrategy[Answer] = st.sampled_from([CAPTURED, DECLINED])


@st.composite
def deliveries(draw: st.DrawFn, with_timeout: bool = False) -> list[Answer]:
    """One answer per side, each possibly redelivered, in any order; optionally a timeout somewhere."""
    stock, payment = draw(stock_answers), draw(payment_answers)
    answers: list[Answer] = [stock] * draw(st.integers(1, 3)) + [payment] * draw(st.integers(1, 3))
    if with_timeout:
        answers.append(TIMEOUT)
    return draw(st.permutations(answers))


def run(answers: list[Answer]) -> tuple[Order, list[OrderConfirmed | OrderCancelled]]:
    order, events = PENDING, []
    for answer in answers:
        decision = decide(order, answer)
        order = decision.order
        if decision.event is not None:
            events.append(decision.event)
    return order, events


@given(deliveries())
def test_any_order_of_answers_reaches_the_same_outcome_with_exactly_one_event(answers: list[Answer]) -> None:
    order, events = run(answers)

    both_positive = RESERVED in answers and CAPTURED in answers
    assert order.status is (OrderStatus.CONFIRMED if both_positive else OrderStatus.CANCELLED)
    [event] = events
    if both_positive:
        assert event == OrderConfirmed(order_id=ORDER_ID)
    else:
        first_negative = next(answer for answer in answers if answer in (REJECTED, DECLINED))
        expected = CancelReason.OUT_OF_STOCK if first_negative is REJECTED else CancelReason.PAYMENT_DECLINED
        assert isinstance(event, OrderCancelled)
        assert event.reason is expected is order.cancel_reason


def first_decisive(answers: list[Answer]) -> CancelReason | None:
    """Oracle: the reason of the first answer that settles the order, None if both positives come first."""
    seen: set[int] = set()
    for answer in answers:
        if answer is REJECTED:
            return CancelReason.OUT_OF_STOCK
        if answer is DECLINED:
            return CancelReason.PAYMENT_DECLINED
        if answer is TIMEOUT:
            return CancelReason.TIMEOUT
        seen.add(id(answer))
        if {id(RESERVED), id(CAPTURED)} <= seen:
            return None
    raise AssertionError("every delivery settles the order")


@given(deliveries(with_timeout=True))
def test_a_timeout_anywhere_still_yields_exactly_one_terminal_event(answers: list[Answer]) -> None:
    order, events = run(answers)

    assert len(events) == 1
    expected = first_decisive(answers)
    assert order.cancel_reason is expected
    assert order.status is (OrderStatus.CONFIRMED if expected is None else OrderStatus.CANCELLED)


@given(st.sampled_from([CONFIRMED, CANCELLED]), st.lists(st.sampled_from(ALL_ANSWERS)))
def test_terminal_states_are_absorbing(terminal: Order, answers: list[Answer]) -> None:
    order = terminal
    for answer in answers:
        decision = decide(order, answer)
        assert decision.event is None
        order = decision.order

    assert order.status is terminal.status
