"""From one run's samples to the metrics `orderflow scaler compare` reports (pure), so the simulation and the
real bench speak of the same things (devstack.scalerbench.simulate.Result).

- time to drain: seconds after the trace's load ends until the group's lag first falls to what is merely in
  flight (one record per partition, plus a second of the inflow that goes on); None: never within the run;
- peak lag: the most records the group had yet to read at any sample;
- replica-seconds: pods that existed (started or not), integrated over the run;
- scale events: changes of the Deployment's replica count, by whoever made them (KEDA's 0 <-> 1, the HPA, ours);
- rebalances: changes of the group's stable assignment (who holds which partitions), as Kafka describes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from devstack.scalerbench.simulate import Result
from devstack.scalerbench.traces import Trace

Assignment = tuple[tuple[int, ...], ...]  # each member's partitions, sorted


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the trace started
    lag: int | None  # None: Kafka did not answer (the broker is down)
    desired: int  # the Deployment's spec.replicas
    pods: int  # the Deployment's status.replicas: pods that exist
    assignment: Assignment | None  # None: the group is rebalancing (or Kafka did not answer)


def drained_lag(trace: Trace, rate: float, partitions: int) -> float:
    """What a group that keeps up still shows: a record per partition (markers, commits in flight) and a second
    of the inflow that continues after the load ends."""
    return partitions + trace.final_inflow() * rate


def result(trace: Trace, scaler: str, samples: Sequence[Sample], rate: float, partitions: int) -> Result:
    lags = [s.lag for s in samples if s.lag is not None]
    threshold = drained_lag(trace, rate, partitions)
    drained = next((s.t for s in samples if s.t >= trace.load_ends and s.lag is not None and s.lag <= threshold), None)
    replica_seconds = sum(earlier.pods * (later.t - earlier.t) for earlier, later in pairwise(samples))
    events = sum(1 for earlier, later in pairwise(samples) if later.desired != earlier.desired)
    stable = [s.assignment for s in samples if s.assignment is not None]
    rebalances = sum(1 for earlier, later in pairwise(stable) if later != earlier)
    return Result(
        trace=trace.name,
        scaler=scaler,
        time_to_drain=None if drained is None else round(drained - trace.load_ends),
        peak_lag=max(lags, default=0),
        replica_seconds=round(replica_seconds),
        scale_events=events,
        rebalances=rebalances,
    )
