"""What one replica can consume (pure): records/s, learned from committed-offset deltas per group member.

Each poll at which the group's assignment is the one of the poll before (no rebalance in between, which would
pause every member, even one given back its partitions), every member gives a sample: how far its partitions'
committed offsets moved, per second. A member whose partitions held a backlog of more than it
receives in a second and a quarter (more than its records in flight), at both ends of the interval, never ran
dry: it worked flat out and its sample is its capacity. A member that kept up consumed only what arrived, and
records in flight between commits look like a small lag: such a sample is merely a lower bound.

The estimate: the median of the saturated samples of a sliding window, never below the upper decile of all the
window's samples (what a replica was seen to do, it can do). Samples age out, so the estimate follows the pods'
real speed (a new image, a slower database) instead of a value learnt once and kept; the last saturated median
is kept when the window holds none, so a group that keeps up does not forget what its replicas can do.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from operators.scaler.rates import Partition, Rates

WINDOW_SECONDS = 180.0
# Records in flight (arrived, not yet fetched, processed and committed) look like lag: a backlog counts as real
# only when it holds more than this many seconds of its partitions' inflow at both ends of the interval.
IN_FLIGHT_SECONDS = 1.25


@dataclass(frozen=True)
class Sample:
    at: float
    rate: float  # records/s one member consumed
    saturated: bool


@dataclass(frozen=True)
class Capacity:
    samples: tuple[Sample, ...] = ()
    saturated_median: float | None = None

    def learn(self, new: Sequence[Sample], now: float) -> Capacity:
        samples = tuple(s for s in (*self.samples, *new) if now - s.at < WINDOW_SECONDS)
        saturated = [s.rate for s in samples if s.saturated]
        median = statistics.median(saturated) if saturated else self.saturated_median
        return replace(self, samples=samples, saturated_median=median)

    def per_replica(self) -> float | None:
        """Records/s per replica; None until some replica was seen working flat out."""
        if self.saturated_median is None:
            return None
        observed = sorted(s.rate for s in self.samples)
        floor = observed[int(0.9 * (len(observed) - 1))] if observed else 0.0
        return max(self.saturated_median, floor)


Member = frozenset[Partition]


def member_samples(
    members: Sequence[Member],
    previous: Sequence[Member],
    lag_before: Mapping[Partition, int],
    lag_after: Mapping[Partition, int],
    flow: Rates,
    now: float,
) -> list[Sample]:
    """One sample per member if the group's assignment is the same at both polls (a rebalance in between says
    nothing); Kafka describes no assignment during a rebalance, so one under way never looks the same."""
    if set(members) != set(previous):
        return []
    samples = []
    for member in members:
        if not member:
            continue
        rate = sum(flow.consumed.get(tp, 0.0) for tp in member)
        inflow = sum(flow.produced.get(tp, 0.0) for tp in member)
        backlog = sum(min(lag_before.get(tp, 0), lag_after.get(tp, 0)) for tp in member)
        samples.append(Sample(now, rate, saturated=rate > 0 and backlog > inflow * IN_FLIGHT_SECONDS))
    return samples


def pooled_sample(
    lag_before: int, lag_after: int, flow: Rates, replicas: int, partitions: int, now: float
) -> list[Sample]:
    """Without the group's assignment: the group's consumption spread over its consuming replicas."""
    consumers = min(replicas, partitions)
    if consumers == 0:
        return []
    rate = flow.consume / consumers
    saturated = flow.consume > 0 and min(lag_before, lag_after) > flow.produce * IN_FLIGHT_SECONDS
    return [Sample(now, rate, saturated)]
