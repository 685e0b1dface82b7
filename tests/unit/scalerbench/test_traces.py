"""The real bench's load shapes: each sends exactly its integral, to the partitions it names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devstack.scalerbench.schedule import Schedule, shares
from devstack.scalerbench.traces import PARTITIONS, traces


@pytest.mark.parametrize("trace", traces(), ids=lambda t: t.name)
def test_a_schedule_sends_the_traces_integral_to_within_a_record_per_partition(trace: object) -> None:
    rate = 50.0
    schedule = Schedule(trace, rate)  # type: ignore[arg-type]
    tps = schedule.ticks_per_second
    sent = [0] * PARTITIONS
    for tick in range(trace.seconds * tps):  # type: ignore[attr-defined]
        for p, count in enumerate(schedule.due(tick)):
            sent[p] += count
    wanted = sum(trace.inflow(tick / tps) * rate / tps for tick in range(trace.seconds * tps))  # type: ignore[attr-defined]
    assert abs(sum(sent) - wanted) <= PARTITIONS
    for p, share in enumerate(shares(trace)):  # type: ignore[arg-type]
        assert abs(sent[p] - wanted * share) <= 1


def test_the_hot_partition_carries_seventy_percent_plus_its_share() -> None:
    hot = next(t for t in traces() if t.name == "hot-partition")
    found = shares(hot)
    assert found[0] == pytest.approx(0.7 + 0.3 / PARTITIONS)
    assert sum(found) == pytest.approx(1.0)


def test_quick_is_burst_and_ramp_in_four_minutes_each_and_full_has_every_case() -> None:
    assert [(t.name, t.seconds) for t in traces(quick=True)] == [("burst", 240), ("ramp", 240)]
    names = {t.name for t in traces()}
    assert names == {"burst", "ramp", "sine", "hot-partition", "new-group", "broker-restart", "idle-markers"}
    new_group = next(t for t in traces() if t.name == "new-group")
    assert (new_group.initial_replicas, new_group.reset) == (0, "latest")


@given(st.integers(min_value=1, max_value=50))
def test_a_preroll_tick_sends_the_first_seconds_inflow(ticks: int) -> None:
    burst = traces()[0]
    before, at_start = Schedule(burst, 50.0), Schedule(burst, 50.0)
    pre = [sum(before.due(-tick)) for tick in range(ticks, 0, -1)]
    first = [sum(at_start.due(0)) for _ in range(ticks)]
    assert pre == first
