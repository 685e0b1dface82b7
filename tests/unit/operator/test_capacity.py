"""The per-replica rate: learned from committed-offset deltas per member, relearned as the pods change."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from operators.scaler.capacity import WINDOW_SECONDS, Capacity, Sample, member_samples
from operators.scaler.rates import Rates

P0, P1, P2, P3 = ("t", 0), ("t", 1), ("t", 2), ("t", 3)


def flow(consumed: dict[tuple[str, int], float], produced: dict[tuple[str, int], float]) -> Rates:
    return Rates(10.0, produced, consumed)


def test_a_member_with_a_real_backlog_is_saturated_and_one_that_keeps_up_is_not() -> None:
    busy, idle = frozenset({P0, P1}), frozenset({P2, P3})
    lags_before = {P0: 500, P1: 500, P2: 4, P3: 3}
    lags_after = {P0: 600, P1: 600, P2: 5, P3: 4}
    rates = flow({P0: 50.0, P1: 50.0, P2: 4.0, P3: 3.0}, {P0: 60.0, P1: 60.0, P2: 4.0, P3: 3.0})

    samples = member_samples([busy, idle], [busy, idle], lags_before, lags_after, rates, now=100.0)

    assert samples == [Sample(100.0, 100.0, saturated=True), Sample(100.0, 7.0, saturated=False)]


def test_a_member_that_changed_partitions_gives_no_sample() -> None:
    before, after = [frozenset({P0}), frozenset({P1})], [frozenset({P0, P1})]
    assert member_samples(after, before, {P0: 900}, {P0: 900}, flow({P0: 10.0}, {P0: 0.0}), 0.0) == []


def test_a_rebalance_in_between_pauses_every_member_so_none_gives_a_sample() -> None:
    # A third member joined: the two that kept their partitions were paused by the rebalance all the same.
    kept, left = frozenset({P0, P1}), frozenset({P2, P3})
    before, after = [kept, left], [kept, frozenset({P2}), frozenset({P3})]
    backlog = {P0: 900, P1: 900, P2: 900, P3: 900}
    rates = flow({P0: 10.0, P1: 10.0}, {P0: 60.0, P1: 60.0})
    assert member_samples(after, before, backlog, backlog, rates, 0.0) == []
    # The same assignment at both polls, listed in another order, is no rebalance.
    assert len(member_samples(list(reversed(before)), before, backlog, backlog, rates, 0.0)) == 2


def test_the_ramp_is_relearned_a_low_early_sample_does_not_stick() -> None:
    # KEDA-review finding: a low rate learnt from in-flight lag early in a ramp was kept forever.
    early = Capacity().learn([Sample(10.0, 6.7, saturated=True)], now=10.0)
    assert early.per_replica() == 6.7
    # Replicas are then seen consuming 100/s while keeping up: what they did, they can do.
    later = early.learn([Sample(20.0 + i, 100.0, saturated=False) for i in range(10)], now=30.0)
    assert later.per_replica() == 100.0
    # Long after, the early sample has aged out of the window, and saturation at 90/s now decides.
    much_later = later.learn([Sample(400.0, 90.0, saturated=True)], now=400.0)
    assert much_later.per_replica() == 90.0


def test_without_saturated_samples_nothing_is_claimed() -> None:
    assert Capacity().learn([Sample(0.0, 50.0, saturated=False)], now=0.0).per_replica() is None


@given(st.lists(st.tuples(st.floats(0, 1000), st.floats(0.1, 1e4), st.booleans()), max_size=40))
def test_the_estimate_is_a_seen_rate_and_never_below_the_saturated_median(
    raw: list[tuple[float, float, bool]],
) -> None:
    samples = [Sample(at, rate, saturated) for at, rate, saturated in sorted(raw)]
    capacity = Capacity().learn(samples, now=1000.0)
    estimate = capacity.per_replica()
    kept = [s for s in samples if 1000.0 - s.at < WINDOW_SECONDS]
    if capacity.saturated_median is None:
        assert estimate is None
    else:
        assert estimate is not None
        assert estimate >= capacity.saturated_median
        assert estimate in {capacity.saturated_median, *(s.rate for s in kept)}
