"""Produce and consume rates between two offset snapshots, per partition: never negative."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from operators.scaler.rates import Snapshot, rates

TP = ("t", 0)


def test_rates_from_two_snapshots_per_partition() -> None:
    before = Snapshot(10.0, {TP: 1000, ("t", 1): 50}, {TP: 800, ("t", 1): 50})
    after = Snapshot(12.0, {TP: 1200, ("t", 1): 50, ("t", 2): 7}, {TP: 1100, ("t", 1): 50, ("t", 2): 0})
    assert rates(None, after) is None
    flow = rates(before, after)
    assert flow is not None
    assert (flow.produce, flow.consume) == (100.0, 150.0)
    assert flow.produced == {TP: 100.0, ("t", 1): 0.0}  # a partition seen for the first time has no rate yet


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9))
def test_rates_are_never_negative(end1: int, pos1: int, end2: int, pos2: int) -> None:
    flow = rates(Snapshot(0.0, {TP: end1}, {TP: pos1}), Snapshot(1.0, {TP: end2}, {TP: pos2}))
    assert flow is not None
    assert flow.produce >= 0
    assert flow.consume >= 0
