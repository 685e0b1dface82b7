"""One evaluation of a scaler (pure): partition lags, group members and memory in, decision and new memory out.

The operator and the `orderflow scaler compare` simulation (devstack/scalerbench/compare.py, development tooling)
both call `evaluate`, so the simulation measures the policy the operator runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from eventkit.lag import PartitionLag
from operators.scaler.capacity import Capacity, Member, member_samples, pooled_sample
from operators.scaler.policy import (
    Decision,
    Observation,
    Policy,
    Recommendation,
    Shortfall,
    active,
    clamp,
    decide,
    rising,
    seed,
)
from operators.scaler.rates import Partition, Snapshot, rates


@dataclass(frozen=True)
class Memory:
    """What carries from one poll to the next."""

    history: tuple[Recommendation, ...] | None = None
    snapshot: Snapshot | None = None
    lags: Mapping[Partition, int] = field(default_factory=dict)  # actionable lag per partition
    members: tuple[Member, ...] = ()
    capacity: Capacity = field(default_factory=Capacity)
    inflow: float | None = None
    replicas: int | None = None  # as last seen or set
    changed_at: float = float("-inf")  # when the replica count last changed
    scaled_down: Shortfall | None = None  # the last scale-down, until the next change: a shortfall if undone
    too_few: Shortfall | None = None  # the largest count known to fall behind, while its inflow holds


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
    snapshot = Snapshot.of(now, lags)
    flow = rates(memory.snapshot, snapshot)
    per_partition = _actionable(lags, marker_tolerance)
    actionable = sum(per_partition.values())
    changed_at = now if memory.replicas is not None and memory.replicas != current else memory.changed_at
    capacity = memory.capacity
    # Members' commits are a measure as soon as the assignment holds still; the group's total only once new
    # pods have had time to join, since it cannot tell when they did.
    if flow is not None and members is not None:
        samples = member_samples(members, memory.members, memory.lags, per_partition, flow, now)
        capacity = capacity.learn(samples, now)
    elif flow is not None and now - changed_at >= policy.warmup_seconds:
        samples = pooled_sample(sum(memory.lags.values()), actionable, flow, current, len(lags), now)
        capacity = capacity.learn(samples, now)
    # None when unmeasured (the first poll, or the first after Kafka was unreachable): no evidence of anything.
    measured = flow.produce if flow else None
    inflow = measured or 0.0
    too_few = memory.too_few if memory.too_few and (measured is None or memory.too_few.holds(measured)) else None
    load = tuple((per_partition[tp], flow.produced.get(tp, 0.0) if flow else 0.0) for tp in sorted(per_partition))
    observation = Observation(
        lag=actionable,
        inflow=inflow,
        per_replica_rate=capacity.per_replica(),
        partitions=len(lags),
        current=current,
        previous_inflow=memory.inflow if flow else None,
        partition_load=load,
        never_committed=bool(lags) and all(p.source != "committed" for p in lags),
        too_few=too_few.replicas if too_few else 0,
    )
    # A scaler seen for the first time (or by a new leader) waits a full window before scaling an active group
    # down; an inactive one (no lag, no inflow) may go to zero at once, as KEDA's does. But the first look has
    # no inflow yet, and a group keeping up with steady traffic shows no lag either: neither active nor idle is
    # known until the next poll has measured the inflow, so this one holds (within the bounds) and remembers no
    # history, and the next poll is the first look that counts.
    is_active = active(policy, observation)
    unmeasured = memory.history is None and flow is None and not is_active
    if unmeasured:
        held = clamp(current, policy, observation.partitions)
        decision = Decision(held, held, "MeasuringInflow", "first look: the inflow is measured before scaling", ())
    else:
        history = memory.history if memory.history is not None else seed(current, now) if is_active else ()
        decision = decide(policy, observation, history, now)
    evaluation = Evaluation(decision, actionable, inflow, flow.consume if flow else 0.0, capacity.per_replica())
    if decision.desired != current:
        changed_at = now
    scaled_down, too_few = _shortfall(memory.scaled_down, too_few, current, decision.desired, measured)
    remembered = Memory(
        history=None if unmeasured else decision.history,
        snapshot=snapshot,
        lags=per_partition,
        members=tuple(members or ()),
        capacity=capacity,
        inflow=measured,
        replicas=decision.desired,
        changed_at=changed_at,
        scaled_down=scaled_down,
        too_few=too_few,
    )
    return evaluation, remembered


def _shortfall(
    scaled_down: Shortfall | None, too_few: Shortfall | None, current: int, desired: int, inflow: float | None
) -> tuple[Shortfall | None, Shortfall | None]:
    """The last scale-down and the known shortfall after this decision: a scale-up from where a scale-down
    went, without more inflow than it had, undoes it, so its count is too few for that inflow. `inflow` is
    None when unmeasured, which proves nothing."""
    if desired < current:
        return (Shortfall(desired, inflow) if inflow else None), too_few
    if desired == current:
        return scaled_down, too_few
    if inflow is None or scaled_down is None or current > scaled_down.replicas or rising(scaled_down.inflow, inflow):
        return None, too_few
    if too_few is None or too_few.replicas <= scaled_down.replicas:
        too_few = Shortfall(scaled_down.replicas, inflow)
    return None, too_few
