"""The scaling policy (pure): how many replicas a consumer group's load asks for. The rules are rules.py.

    by lag:  ceil(lag / lagPerReplica), at most one replica per partition that has lag
    by rate: the fewest replicas whose busiest member can take its partitions' inflow + lag / drainSeconds,
             at perReplicaRate each (learned from the group's commits, see capacity.py)
    desired = fewest replicas with as few partitions per member as max(by lag, by rate) gives,
              clamped to minReplicas .. min(maxReplicas, partitions)

The rules of rules.py then adjust it: an idle group's, a count that fell behind before, the windows and steps.

The rate term is what KEDA lacks: a group whose inflow exceeds what its replicas consume gets more of them
before the lag piles up. Sizing by the busiest member handles what KEDA cannot: a hot partition (#3997), which
more replicas never drain faster, and counts that do not divide the partitions (#2581, #7517): 7 consumers on
12 partitions drain no faster than 6, since someone still holds 2 partitions, so 6 it is. Integer arithmetic
and a cap applied last make P+1 replicas impossible, and there is no ratio tolerance to stall the last
replica below the cap (KEDA #2908).
"""

from __future__ import annotations

from dataclasses import dataclass

# Float noise must not turn an exact 2.0 into 3 replicas.
EPSILON = 1e-9
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
    # Per partition: (actionable lag, inflow records/s); empty when unknown (then the totals are spread evenly).
    partition_load: tuple[tuple[int, float], ...] = ()
    # No partition has a commit: a new group, whose `latest` lag is 0 however many records arrive.
    never_committed: bool = False
    # A count that fell behind an inflow as high as this one (see Shortfall); 0: none known.
    too_few: int = 0
    # False when the inflow is unknown (the first poll, or the first after Kafka was unreachable): then `inflow`
    # is 0 for want of a measure, which proves nothing.
    measured: bool = True


@dataclass(frozen=True)
class Shortfall:
    """Replicas seen to fall behind an inflow: a scale-down to them was undone without the inflow rising.

    A group that keeps up shows no lag and no saturated replica, so neither term can tell how few replicas
    would still do (a new group that never ran flat out has no learned rate); a scale-down that the lag then
    undoes is the evidence, and without it the policy would repeat the same scale-down every window."""

    replicas: int
    inflow: float

    def holds(self, inflow: float) -> bool:
        """Still evidence at `inflow`: the inflow has not fallen (noise aside) since."""
        return not rising(inflow, self.inflow)


def rising(before: float, after: float) -> bool:
    """More than noise above `before`."""
    return after > before * _RISING


def upper_bound(policy: Policy, partitions: int) -> int:
    """More consumers than partitions idle; minReplicas still wins when it asks for more on purpose."""
    return max(policy.min_replicas, min(policy.max_replicas, partitions))


def clamp(replicas: int, policy: Policy, partitions: int) -> int:
    return min(max(replicas, policy.min_replicas), upper_bound(policy, partitions))


def active(policy: Policy, obs: Observation) -> bool:
    """Activation decides 0 <-> 1: a stopped group wakes above activationLag, or when records arrive for a group
    that never committed (with `latest` its lag stays 0 until a consumer commits, which it never would at 0
    replicas: KEDA answers lag 1 for this); a running one stays while records keep arriving."""
    if obs.lag > policy.activation_lag:
        return True
    return obs.inflow > 0 and (obs.current > 0 or obs.never_committed)


def efficient(replicas: int, partitions: int) -> int:
    """The fewest replicas that leave no member more partitions than `replicas` would: 7 on 12 partitions
    leave someone 2, and so do 6, which cost less and rebalance the same."""
    if replicas <= 0 or partitions <= 0:
        return max(replicas, 0)
    if replicas >= partitions:
        return partitions
    per_member = -(-partitions // replicas)
    return -(-partitions // per_member)


def more_than(replicas: int, partitions: int) -> int:
    """The fewest replicas that leave each member fewer partitions than `replicas` do: after 4 on 12 (3 each)
    comes 6 (2 each), since 5 still leave someone 3."""
    return next((n for n in range(replicas + 1, partitions + 1) if efficient(n, partitions) == n), partitions)


def _busiest(needs: list[float], replicas: int, partitions: int) -> float:
    """The load of the busiest member when `replicas` share the partitions: in the worst assignment it holds
    the ceil(P / n) partitions with the largest needs."""
    return sum(needs[: -(-partitions // replicas)])


def needs(obs: Observation, drain_seconds: float, rate: float) -> list[float]:
    """Each partition's need, in replicas, busiest first: its inflow plus its lag over drainSeconds."""
    partitions = obs.partitions
    load = obs.partition_load or tuple((obs.lag // partitions, obs.inflow / partitions) for _ in range(partitions))
    return sorted(((inflow + lag / drain_seconds) / rate for lag, inflow in load), reverse=True)


def by_rate(obs: Observation, drain_seconds: float, rate: float) -> int:
    """The fewest replicas whose busiest member keeps up (needs of a replica's capacity summed <= 1); where no
    count can (a partition alone needs more than one replica), the fewest within a quarter of the best."""
    partitions = obs.partitions
    each = needs(obs, drain_seconds, rate)
    best = each[0] if each else 0.0
    target = 1.0 if best <= 1.0 else best * 1.25
    return next((n for n in range(1, partitions + 1) if _busiest(each, n, partitions) <= target + EPSILON), partitions)


def recommend(policy: Policy, obs: Observation) -> tuple[int, str, str]:
    """The replicas this observation's load asks for, with a reason and a message (activation aside)."""
    lagging = sum(1 for lag, _ in obs.partition_load if lag > 0) if obs.partition_load else obs.partitions
    raw_lag = -(-obs.lag // policy.lag_per_replica)
    # More replicas than partitions with lag drain no faster (a hot partition has one consumer at a time).
    lag_term = min(raw_lag, max(lagging, 1))
    rate_term = by_rate(obs, policy.drain_seconds, obs.per_replica_rate) if obs.per_replica_rate else 0
    wanted = max(1, lag_term, rate_term)
    replicas = sized(wanted, policy, obs.partitions)
    reason = "Inflow" if rate_term > lag_term else "Lag"
    message = f"lag {obs.lag} -> {raw_lag}, inflow {obs.inflow:.1f}/s -> {rate_term}"
    if max(1, raw_lag, rate_term) > upper_bound(policy, obs.partitions) <= wanted:
        reason = "CappedAtPartitions" if obs.partitions <= policy.max_replicas else "CappedAtMax"
    elif lag_term < raw_lag and wanted == lag_term:
        reason = "LaggingPartitions"
        message += f", only {lagging} partitions have lag"
    elif replicas < wanted:
        reason = "EvenPartitions"
    if replicas != max(1, raw_lag, rate_term):
        message += f": {replicas}"
    return replicas, reason, message


def sized(replicas: int, policy: Policy, partitions: int) -> int:
    """`replicas` within the bounds, as the fewest that give each member as few partitions."""
    return max(policy.min_replicas, efficient(clamp(replicas, policy, partitions), partitions))
