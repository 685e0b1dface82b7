"""From samples to the reported metrics."""

from __future__ import annotations

from devstack.scalerbench.measures import Sample, drained_lag, result
from devstack.scalerbench.traces import Trace

TRACE = Trace("t", "test", 10, lambda t: 1.0 if t < 4 else 0.0, load_ends=4)


def samples(*rows: tuple[int | None, int, int, tuple[tuple[int, ...], ...] | None]) -> list[Sample]:
    return [Sample(float(t), lag, desired, pods, assignment) for t, (lag, desired, pods, assignment) in enumerate(rows)]


A = ((0, 1),)
B = ((0,), (1,))


def test_every_metric_from_one_run() -> None:
    run = samples(
        (0, 1, 1, A),
        (50, 1, 1, A),
        (400, 2, 1, A),
        (300, 2, 2, None),  # rebalancing
        (100, 2, 2, B),
        (None, 2, 2, None),  # Kafka did not answer
        (13, 2, 2, B),
        (5, 1, 2, B),
        (0, 1, 1, A),
    )
    found = result(TRACE, "ours", run, rate=10.0, partitions=2)
    assert found.peak_lag == 400
    # Drained at the first answered second from t=4 on with lag <= 2 partitions + the final inflow (0): t=8.
    assert found.time_to_drain == 4
    assert found.replica_seconds == 1 + 1 + 1 + 2 + 2 + 2 + 2 + 2
    assert found.scale_events == 2
    assert found.rebalances == 2  # A -> B -> A; the rebalancing and silent seconds are not assignments


def test_never_drained_is_none() -> None:
    found = result(TRACE, "keda", samples((500, 1, 1, A), (600, 1, 1, A)), rate=10.0, partitions=2)
    assert found.time_to_drain is None


def test_what_counts_as_drained_includes_the_inflow_that_goes_on() -> None:
    steady = Trace("s", "steady", 10, lambda t: 0.5, load_ends=5)
    assert drained_lag(steady, rate=50.0, partitions=12) == 12 + 25
