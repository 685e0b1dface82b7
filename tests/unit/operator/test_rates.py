"""Produce and consume rates between two lag snapshots: never negative."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from operators.scaler.rates import Snapshot, rates


def test_rates_from_two_snapshots() -> None:
    before = Snapshot(at=10.0, log_end=1000, position=800)
    after = Snapshot(at=12.0, log_end=1200, position=1100)
    assert rates(None, after) is None
    flow = rates(before, after)
    assert flow is not None
    assert (flow.produce, flow.consume) == (100.0, 150.0)


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9))
def test_rates_are_never_negative(end1: int, pos1: int, end2: int, pos2: int) -> None:
    flow = rates(Snapshot(0.0, end1, pos1), Snapshot(1.0, end2, pos2))
    assert flow is not None
    assert flow.produce >= 0
    assert flow.consume >= 0
