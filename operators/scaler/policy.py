"""The scaling policy (pure): how many replicas a consumer group needs, then how fast to get there.

    desired = clamp(max(ceil(lag / lagPerReplica), ceil((inflow + lag / drainSeconds) / perReplicaRate)),
                    minReplicas, min(maxReplicas, partitions))

The rate term is what KEDA lacks: a group whose inflow exceeds what its replicas consume gets more of them
before the lag piles up. Integer arithmetic for the lag term and a cap applied last make P+1 replicas
impossible (KEDA's cap lets them through), and there is no ratio tolerance to stall the last replica
below the cap (KEDA #2908).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Float noise must not turn an exact 2.0 into 3 replicas.
_EPSILON = 1e-9
# An inflow this much above the previous poll's counts as rising, not as noise.
_RISING = 1.05


@dataclass(frozen=True)
class Behavior:
    """How one direction moves: a window over past recommendations and the most replicas per decision."""

    stabilization_seconds: float
    max_step: int


@dataclass(frozen=True)
class Policy:
    lag_per_replica: int
    activation_lag: int
    min_replicas: int
    max_replicas: int
    drain_seconds: float
    scale_up: Behavior
    scale_down: Behavior
    # After a change of replicas, consumption is not a measure of capacity until new pods have joined.
    warmup_seconds: float = 30.0


@dataclass(frozen=True)
class Observation:
    lag: int  # actionable lag: transaction markers already left out
    inflow: float  # records/s produced to the group's topics
    per_replica_rate: float | None  # records/s one replica consumes; None until observed
    partitions: int
    current: int
    previous_inflow: float | None = None  # at the poll before: a rising inflow vetoes scaling down


@dataclass(frozen=True)
class Recommendation:
    at: float
    replicas: int


@dataclass(frozen=True)
class Decision:
    desired: int
    recommended: int  # before stabilization and step limits
    reason: str  # CamelCase, for conditions and Events
    message: str
    history: tuple[Recommendation, ...]


def upper_bound(policy: Policy, partitions: int) -> int:
    """More consumers than partitions idle; minReplicas still wins when it asks for more on purpose."""
    return max(policy.min_replicas, min(policy.max_replicas, partitions))


def clamp(replicas: int, policy: Policy, partitions: int) -> int:
    return min(max(replicas, policy.min_replicas), upper_bound(policy, partitions))


def active(policy: Policy, obs: Observation) -> bool:
    """Activation decides 0 <-> 1: a stopped group wakes only above activationLag; a running one stays while
    records keep arriving."""
    return obs.lag > policy.activation_lag or (obs.current > 0 and obs.inflow > 0)


def recommend(policy: Policy, obs: Observation) -> tuple[int, str, str]:
    """The replicas this observation alone asks for, with a reason and a message."""
    if not active(policy, obs):
        replicas = clamp(0, policy, obs.partitions)
        return replicas, "Inactive", f"lag {obs.lag} <= activationLag {policy.activation_lag} and no inflow"
    by_lag = -(-obs.lag // policy.lag_per_replica)
    by_rate = 0
    if obs.per_replica_rate:
        needed = (obs.inflow + obs.lag / policy.drain_seconds) / obs.per_replica_rate
        by_rate = math.ceil(needed - _EPSILON)
    wanted = max(1, by_lag, by_rate)
    replicas = clamp(wanted, policy, obs.partitions)
    reason = "Inflow" if by_rate > by_lag else "Lag"
    message = f"lag {obs.lag} -> {by_lag}, inflow {obs.inflow:.1f}/s -> {by_rate}"
    if replicas < wanted:
        reason = "CappedAtPartitions" if replicas == obs.partitions else "CappedAtMax"
        message += f", capped at {replicas}"
    return replicas, reason, message


def seed(current: int, now: float) -> tuple[Recommendation, ...]:
    """History for a scaler seen for the first time (or by a new leader): as if `current` had just been
    recommended, so no scale-down happens before a full window of evidence."""
    return (Recommendation(now, current),)


def decide(policy: Policy, obs: Observation, history: tuple[Recommendation, ...], now: float) -> Decision:
    """Recommend, then stabilize like the HPA: scale up only to what every recommendation in the up window
    allows, down only to the highest in the down window, by at most maxStep replicas per decision."""
    recommended, reason, message = recommend(policy, obs)
    keep = max(policy.scale_up.stabilization_seconds, policy.scale_down.stabilization_seconds)
    earlier = [r for r in history if now - r.at < keep]
    # A window of 0 s means this recommendation alone, as in the HPA.
    up_floor = min([recommended, *(r.replicas for r in earlier if now - r.at < policy.scale_up.stabilization_seconds)])
    down_ceiling = max(
        [recommended, *(r.replicas for r in earlier if now - r.at < policy.scale_down.stabilization_seconds)]
    )
    history = (*earlier, Recommendation(now, recommended))
    current = obs.current
    target = min(max(current, up_floor), down_ceiling)
    if target != recommended:
        reason = "ScaleUpWindow" if target < recommended else "ScaleDownWindow"
        message += f"; held at {target} by the stabilization window"
    if target > current + policy.scale_up.max_step:
        target, reason = current + policy.scale_up.max_step, "MaxStepUp"
        message += f"; limited to +{policy.scale_up.max_step}"
    elif target < current and obs.previous_inflow is not None and obs.inflow > obs.previous_inflow * _RISING:
        # Lag lags the inflow: removing replicas now would be undone at the next poll, after a rebalance.
        target, reason = current, "InflowRising"
        message += f"; inflow rising ({obs.previous_inflow:.1f} -> {obs.inflow:.1f}/s), not scaling down"
    if target < current - policy.scale_down.max_step:
        target, reason = current - policy.scale_down.max_step, "MaxStepDown"
        message += f"; limited to -{policy.scale_down.max_step}"
    # Bounds win over windows and steps: a lowered maxReplicas applies at once.
    bounded = clamp(target, policy, obs.partitions)
    if bounded != target:
        reason, message = "OutOfBounds", message + f"; bounds move it to {bounded}"
    return Decision(bounded, recommended, reason, message, history)


def estimate_per_replica_rate(
    previous: float | None, consume_rate: float, replicas: int, partitions: int, saturated: bool
) -> float | None:
    """Exponentially weighted records/s per consuming replica.

    Only a saturated group (a backlog before and after the interval) shows what replicas can do; an idle one
    consumes just the inflow. Replicas beyond the partition count consume nothing and are not counted.
    """
    consumers = min(replicas, partitions)
    if not saturated or consumers == 0 or consume_rate <= 0:
        return previous
    sample = consume_rate / consumers
    return sample if previous is None else previous + 0.5 * (sample - previous)
