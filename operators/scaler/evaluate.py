"""One evaluation of a scaler (pure): partition lags, group members and memory in, decision and new memory out.

The memory is two small things: what the group's offsets taught (`RateEstimate`) and what the scaler did
(`ScaleHistory`). The operator and the `orderflow scaler compare` simulation (devstack/scalerbench/compare.py,
development tooling) both call `evaluate`, so the simulation measures the policy the operator runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from eventkit.lag import PartitionLag
from operators.scaler.capacity import Capacity, Member, member_samples, pooled_sample
from operators.scaler.policy import Observation, Policy, Shortfall, rising
from operators.scaler.rates import Partition, Rates, Snapshot, rates
from operators.scaler.rules import Decision, Recommendation, decide


@dataclass(frozen=True)
class RateEstimate:
    """What the group's offsets taught, as of the last poll."""

    snapshot: Snapshot | None = None  # None: the next poll measures no rate (first poll, or after an outage)
    lags: Mapping[Partition, int] = field(default_factory=dict)  # actionable lag per partition
    members: tuple[Member, ...] = ()
    capacity: Capacity = field(default_factory=Capacity)
    inflow: float | None = None  # records/s; None when unmeasured

    def learn(
        self,
        policy: Policy,
        snapshot: Snapshot,
        lags: Mapping[Partition, int],
        members: Sequence[Member] | None,
        replicas: int,
        since_change: float,
    ) -> tuple[RateEstimate, Rates | None]:
        """The estimate after this poll, and the rates since the last one (None without one)."""
        flow = rates(self.snapshot, snapshot)
        capacity = self.capacity
        # Members' commits are a measure as soon as the assignment holds still; the group's total only once new
        # pods have had time to join, since it cannot tell when they did.
        if flow is not None and members is not None:
            samples = member_samples(members, self.members, self.lags, lags, flow, snapshot.at)
            capacity = capacity.learn(samples, snapshot.at)
        elif flow is not None and since_change >= policy.warmup_seconds:
            total = sum(lags.values())
            samples = pooled_sample(sum(self.lags.values()), total, flow, replicas, len(lags), snapshot.at)
            capacity = capacity.learn(samples, snapshot.at)
        inflow = flow.produce if flow else None
        return RateEstimate(snapshot, lags, tuple(members or ()), capacity, inflow), flow

    def forget_snapshot(self) -> RateEstimate:
        """The rate between the last good poll and the next one would average over an outage."""
        return replace(self, snapshot=None)


@dataclass(frozen=True)
class ScaleHistory:
    """What the scaler did."""

    recommendations: tuple[Recommendation, ...] = ()  # what the windows remember; empty before the first
    replicas: int | None = None  # as last seen or set
    changed_at: float = float("-inf")  # when the replica count last changed
    scaled_down: Shortfall | None = None  # the last scale-down, until the next change: a shortfall if undone
    too_few: Shortfall | None = None  # the largest count known to fall behind, while its inflow holds

    def seen(self, current: int, now: float) -> ScaleHistory:
        """The count as found: someone else (or a rollout) may have changed it."""
        moved = self.replicas is not None and self.replicas != current
        return replace(self, changed_at=now) if moved else self

    def shortfall(self, inflow: float | None) -> Shortfall | None:
        """The known shortfall, while it is still evidence at `inflow` (None: unmeasured, proves nothing)."""
        return self.too_few if self.too_few and (inflow is None or self.too_few.holds(inflow)) else None

    def after(self, decision: Decision, current: int, inflow: float | None, now: float) -> ScaleHistory:
        """The history once `decision` is applied."""
        desired, scaled_down, too_few = decision.desired, self.scaled_down, self.shortfall(inflow)
        if desired < current:
            scaled_down = Shortfall(desired, inflow) if inflow else None
        elif desired > current:
            undone = self._undone(current, inflow)
            if undone and (too_few is None or too_few.replicas <= undone.replicas):
                too_few = undone
            scaled_down = None
        changed_at = now if desired != current else self.changed_at
        return ScaleHistory(decision.history, desired, changed_at, scaled_down, too_few)

    def _undone(self, current: int, inflow: float | None) -> Shortfall | None:
        """A scale-up from where the last scale-down went, without more inflow than it had, undoes it: its count
        is too few for that inflow."""
        down = self.scaled_down
        if inflow is None or down is None or current > down.replicas or rising(down.inflow, inflow):
            return None
        return Shortfall(down.replicas, inflow)


@dataclass(frozen=True)
class Memory:
    """What carries from one poll to the next."""

    rate: RateEstimate = field(default_factory=RateEstimate)
    history: ScaleHistory = field(default_factory=ScaleHistory)


@dataclass(frozen=True)
class Evaluation:
    decision: Decision
    actionable: int
    produce_rate: float
    consume_rate: float
    per_replica_rate: float | None


def _actionable(lags: Sequence[PartitionLag], marker_tolerance: int) -> dict[Partition, int]:
    # A lag within the tolerance is a transaction marker no consumer can read: idle (KEDA #5675).
    return {(p.topic, p.partition): p.lag if p.lag > marker_tolerance else 0 for p in lags}


def evaluate(
    policy: Policy,
    marker_tolerance: int,
    lags: Sequence[PartitionLag],
    current: int,
    memory: Memory,
    now: float,
    members: Sequence[Member] | None = None,
) -> tuple[Evaluation, Memory]:
    """`members`: the partitions each member of the group holds (from Kafka's group description); None when
    unknown, and then consumption is spread evenly over the consuming replicas."""
    per_partition = _actionable(lags, marker_tolerance)
    history = memory.history.seen(current, now)
    estimate, flow = memory.rate.learn(
        policy, Snapshot.of(now, lags), per_partition, members, current, now - history.changed_at
    )
    too_few = history.shortfall(estimate.inflow)
    observation = Observation(
        lag=sum(per_partition.values()),
        inflow=estimate.inflow or 0.0,
        per_replica_rate=estimate.capacity.per_replica(),
        partitions=len(lags),
        current=current,
        previous_inflow=memory.rate.inflow if flow else None,
        partition_load=tuple(
            (per_partition[tp], flow.produced.get(tp, 0.0) if flow else 0.0) for tp in sorted(per_partition)
        ),
        never_committed=bool(lags) and all(p.source != "committed" for p in lags),
        too_few=too_few.replicas if too_few else 0,
        measured=flow is not None,
    )
    decision = decide(policy, observation, history.recommendations, now)
    evaluation = Evaluation(
        decision, observation.lag, observation.inflow, flow.consume if flow else 0.0, observation.per_replica_rate
    )
    return evaluation, Memory(estimate, history.after(decision, current, estimate.inflow, now))
