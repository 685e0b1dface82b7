"""One evaluation of a scaler (pure): partition lags and memory in, decision and new memory out.

The operator and the `orderflow scaler compare` simulation both call `evaluate`, so the simulation measures
the policy the operator runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eventkit.lag import PartitionLag, actionable_lag
from operators.scaler.policy import (
    Decision,
    Observation,
    Policy,
    Recommendation,
    decide,
    estimate_per_replica_rate,
    seed,
)
from operators.scaler.rates import Snapshot, rates


@dataclass(frozen=True)
class Memory:
    """What carries from one poll to the next."""

    history: tuple[Recommendation, ...] | None = None
    snapshot: Snapshot | None = None
    actionable: int = 0
    per_replica_rate: float | None = None
    inflow: float | None = None
    replicas: int | None = None  # as last seen or set
    changed_at: float = float("-inf")  # when the replica count last changed


@dataclass(frozen=True)
class Evaluation:
    decision: Decision
    actionable: int
    produce_rate: float
    consume_rate: float
    per_replica_rate: float | None


def evaluate(
    policy: Policy, marker_tolerance: int, lags: Sequence[PartitionLag], current: int, memory: Memory, now: float
) -> tuple[Evaluation, Memory]:
    snapshot = Snapshot.of(now, lags)
    flow = rates(memory.snapshot, snapshot)
    actionable = actionable_lag(lags, marker_tolerance)
    per_replica = memory.per_replica_rate
    changed_at = now if memory.replicas is not None and memory.replicas != current else memory.changed_at
    if flow is not None and memory.snapshot is not None and now - changed_at >= policy.warmup_seconds:
        consumed = flow.consume * (snapshot.at - memory.snapshot.at)
        # Replicas work flat out when the backlog never ran dry (more stayed queued, at both ends, than they
        # consumed over the interval) or when they fell behind the inflow. A group that keeps up shows only
        # its records in flight, and its consumption then says nothing about its capacity.
        never_dry = min(actionable, memory.actionable) > consumed
        behind = actionable > memory.actionable and flow.consume < 0.9 * flow.produce
        saturated = consumed > 0 and (never_dry or behind)
        per_replica = estimate_per_replica_rate(per_replica, flow.consume, current, len(lags), saturated)
    inflow = flow.produce if flow else 0.0
    history = memory.history if memory.history is not None else seed(current, now)
    observation = Observation(actionable, inflow, per_replica, len(lags), current, memory.inflow if flow else None)
    decision = decide(policy, observation, history, now)
    evaluation = Evaluation(decision, actionable, inflow, flow.consume if flow else 0.0, per_replica)
    if decision.desired != current:
        changed_at = now
    return evaluation, Memory(
        decision.history, snapshot, actionable, per_replica, inflow if flow else None, decision.desired, changed_at
    )
