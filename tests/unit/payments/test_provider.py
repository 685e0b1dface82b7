"""The simulated provider: documented test customers, reproducible outages, and idempotency keys."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.payments.domain import Captured, CaptureResult, Declined
from services.payments.provider import ProviderUnavailable, SimulatedProvider


def order_id(n: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"order-{n}")


async def capture(
    provider: SimulatedProvider, customer: str = "c-1", amount: str = "10.00", key: str = "k-1"
) -> CaptureResult:
    return await provider.capture(
        customer_id=customer, order_id=order_id(0), amount=Decimal(amount), currency="EUR", idempotency_key=key
    )


async def test_an_ordinary_customer_is_charged_up_to_the_default_limit() -> None:
    provider = SimulatedProvider()

    assert isinstance(await capture(provider, amount="10000", key="at-limit"), Captured)
    assert await capture(provider, amount="10000.01", key="above") == Declined(
        "amount 10000.01 exceeds the customer's limit of 10000"
    )
    assert [charge.amount for charge in provider.charges] == [Decimal(10_000)]


async def test_a_per_customer_limit_overrides_the_default() -> None:
    provider = SimulatedProvider(limits={"c-big": Decimal(50_000)})

    assert isinstance(await capture(provider, customer="c-big", amount="20000"), Captured)


async def test_decline_customers_are_always_declined() -> None:
    provider = SimulatedProvider()

    assert await capture(provider, customer="decline-42", amount="0.01") == Declined("card declined")
    assert not provider.charges


async def test_flaky_customers_fail_their_first_calls_per_order_then_succeed() -> None:
    provider = SimulatedProvider(flaky_failures=2)

    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await capture(provider, customer="flaky-1", key="order-a")
    # Another order of the same customer counts its own calls.
    with pytest.raises(ProviderUnavailable):
        await capture(provider, customer="flaky-1", key="order-b")

    assert isinstance(await capture(provider, customer="flaky-1", key="order-a"), Captured)
    assert len(provider.charges) == 1


async def test_the_same_idempotency_key_returns_the_first_result_and_charges_once() -> None:
    provider = SimulatedProvider()

    first = await capture(provider, amount="10.00", key="order-1")
    again = await capture(provider, amount="10.00", key="order-1")

    assert first == again
    assert len(provider.charges) == 1


async def test_a_restarted_simulator_names_a_repeated_capture_the_same() -> None:
    assert await capture(SimulatedProvider(), key="order-1") == await capture(SimulatedProvider(), key="order-1")


async def test_a_refund_with_a_used_idempotency_key_pays_back_once() -> None:
    provider = SimulatedProvider()
    captured = await capture(provider, key="order-1")
    assert isinstance(captured, Captured)

    for _ in range(3):
        await provider.refund(payment_id=captured.payment_id, amount=Decimal("10.00"), idempotency_key="refund-1")

    assert len(provider.refunds) == 1


async def failing_keys(provider: SimulatedProvider, keys: list[str]) -> set[str]:
    failing = set()
    for key in keys:
        try:
            await capture(provider, key=key)
        except ProviderUnavailable:
            failing.add(key)
    return failing


async def test_the_transient_failure_rate_picks_the_same_orders_in_every_run() -> None:
    keys = [str(order_id(n)) for n in range(4000)]

    first = await failing_keys(SimulatedProvider(transient_failure_rate=0.1), keys)
    second = await failing_keys(SimulatedProvider(transient_failure_rate=0.1), keys)

    assert first == second
    assert 0.08 < len(first) / len(keys) < 0.12


@pytest.mark.parametrize("rate", [0.0, 1.0])
async def test_failure_rates_at_the_bounds_fail_no_order_or_every_order(rate: float) -> None:
    keys = [str(order_id(n)) for n in range(100)]

    failing = await failing_keys(SimulatedProvider(transient_failure_rate=rate), keys)

    assert len(failing) == rate * len(keys)


async def test_an_unlucky_order_succeeds_after_its_flaky_failures() -> None:
    provider = SimulatedProvider(transient_failure_rate=1.0, flaky_failures=3)

    outcomes = []
    for _ in range(4):
        try:
            outcomes.append(type(await capture(provider, key="order-1")).__name__)
        except ProviderUnavailable:
            outcomes.append("unavailable")

    assert outcomes == ["unavailable"] * 3 + ["Captured"]


@given(st.lists(st.tuples(st.sampled_from(["k1", "k2", "k3"]), st.sampled_from(["1.00", "20000"])), max_size=20))
async def test_repeated_keys_never_charge_twice_and_always_answer_alike(calls: list[tuple[str, str]]) -> None:
    provider = SimulatedProvider(transient_failure_rate=0.5, flaky_failures=1)

    answers: dict[str, list[CaptureResult]] = {}
    for key, amount in calls:
        try:
            result = await capture(provider, amount=amount, key=key)
        except ProviderUnavailable:
            continue
        answers.setdefault(key, []).append(result)

    assert len(provider.charges) == len({charge.payment_id for charge in provider.charges}) <= len(answers)
    for results in answers.values():
        assert all(result == results[0] for result in results)


async def test_a_key_forgotten_after_the_window_still_gets_the_same_answer() -> None:
    provider = SimulatedProvider(window=2)
    first = await capture(provider, key="order-1")
    await capture(provider, key="order-2")
    await capture(provider, key="order-3")  # pushes order-1 out of the window

    assert await capture(provider, key="order-1") == first
    assert len(provider.charges) == 2  # the latest two, as the books are bounded by the window too
