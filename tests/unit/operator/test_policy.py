"""Properties of the scaling policy: bounds, no P+1, activation, windows, steps, even partitions, hot keys."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import assume, given
from hypothesis import strategies as st

from operators.scaler.policy import (
    Behavior,
    Observation,
    Policy,
    active,
    by_rate,
    efficient,
    more_than,
    recommend,
    upper_bound,
)
from operators.scaler.rules import Decision, Recommendation, decide


def first(policy: Policy, obs: Observation) -> Decision:
    """A first decision: the recommendation after the sizing rules, nothing remembered."""
    return decide(policy, obs, (), now=1000.0)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    minimum = draw(st.integers(0, 10))
    return Policy(
        lag_per_replica=draw(st.integers(1, 10_000)),
        activation_lag=draw(st.integers(0, 1_000)),
        min_replicas=minimum,
        max_replicas=draw(st.integers(max(1, minimum), 50)),
        drain_seconds=draw(st.integers(1, 600)),
        scale_up=Behavior(draw(st.integers(0, 600)), draw(st.integers(1, 10))),
        scale_down=Behavior(draw(st.integers(0, 600)), draw(st.integers(1, 10))),
    )


observations = st.builds(
    Observation,
    lag=st.integers(0, 10_000_000),
    inflow=st.floats(0, 1e6, allow_nan=False),
    per_replica_rate=st.none() | st.floats(0.1, 1e5, allow_nan=False),
    partitions=st.integers(1, 64),
    current=st.integers(0, 80),
)
histories = st.lists(
    st.builds(Recommendation, at=st.floats(0, 1000, allow_nan=False), replicas=st.integers(0, 80)), max_size=20
).map(lambda rs: tuple(sorted(rs, key=lambda r: r.at)))


@given(policies(), observations, histories)
def test_desired_is_always_within_min_and_the_partition_capped_max(
    policy: Policy, obs: Observation, history: tuple[Recommendation, ...]
) -> None:
    decision = decide(policy, obs, history, now=1000.0)
    assert policy.min_replicas <= decision.desired <= upper_bound(policy, obs.partitions)
    assert policy.min_replicas <= decision.recommended <= upper_bound(policy, obs.partitions)


@given(policies(), observations, histories)
def test_never_more_replicas_than_partitions(
    policy: Policy, obs: Observation, history: tuple[Recommendation, ...]
) -> None:
    # KEDA's integer division let P+1 through; here the cap is applied last, on integers.
    assume(policy.min_replicas <= obs.partitions)
    assert decide(policy, obs, history, now=1000.0).desired <= obs.partitions


@given(policies(), observations)
def test_active_lag_alone_asks_for_exactly_ceil_lag_over_lag_per_replica(policy: Policy, obs: Observation) -> None:
    obs = Observation(obs.lag, 0.0, None, obs.partitions, obs.current)
    assume(obs.lag > policy.activation_lag)
    replicas, _, _ = recommend(policy, obs)
    wanted = max(1, math.ceil(obs.lag / policy.lag_per_replica))
    bounded = min(max(wanted, policy.min_replicas), upper_bound(policy, obs.partitions))
    # The fewest replicas leaving each member as many partitions as `bounded` would.
    assert replicas == max(policy.min_replicas, efficient(bounded, obs.partitions))


@given(policies(), observations, st.integers(0, 1_000_000))
def test_more_lag_never_asks_for_fewer_replicas(policy: Policy, obs: Observation, extra: int) -> None:
    more = Observation(obs.lag + extra, obs.inflow, obs.per_replica_rate, obs.partitions, obs.current)
    assert first(policy, more).recommended >= first(policy, obs).recommended


@given(policies())
def test_inflow_beyond_capacity_scales_before_lag_builds_up(policy: Policy) -> None:
    # No backlog yet, but records arrive at 3.5 replicas' worth: the rate term asks for 4 (within bounds).
    obs = Observation(0, 350.0, 100.0, 64, 1)
    replicas, reason, _ = recommend(policy, obs)
    assert replicas == min(max(4, policy.min_replicas), upper_bound(policy, 64))
    if upper_bound(policy, 64) >= 4 and policy.min_replicas < 4:
        assert reason == "Inflow"


@given(policies(), st.integers(0, 1_000), st.integers(1, 64))
def test_a_stopped_group_wakes_only_above_activation_lag(policy: Policy, lag: int, partitions: int) -> None:
    policy = replace(policy, min_replicas=0)
    obs = Observation(lag, inflow=5.0, per_replica_rate=None, partitions=partitions, current=0)
    decision = first(policy, obs)
    if lag <= policy.activation_lag:
        assert (decision.desired, decision.reason) == (0, "Inactive")
    else:
        assert decision.recommended >= 1


@given(policies(), st.data())
def test_idle_group_scales_to_min_only_after_the_scale_down_window(policy: Policy, data: st.DataObject) -> None:
    # Drawn within range rather than filtered: most random (policy, partitions, current) have nothing to scale down.
    partitions = data.draw(st.integers(policy.min_replicas + 1, 64))
    assume(upper_bound(policy, partitions) > policy.min_replicas)
    current = data.draw(st.integers(policy.min_replicas + 1, upper_bound(policy, partitions)))
    window = policy.scale_down.stabilization_seconds
    history: tuple[Recommendation, ...] = (Recommendation(0.0, current),)  # as a first look seeds it
    replicas = current
    t = 0.0
    while t < window:
        decision = decide(policy, Observation(0, 0.0, None, partitions, replicas), history, t)
        assert decision.desired == current, "scaled down inside the window"
        history, t = decision.history, t + 1
    for _ in range(current):  # then steps of at most maxStep each poll, down to minReplicas
        decision = decide(policy, Observation(0, 0.0, None, partitions, replicas), history, t + 1)
        assert replicas - decision.desired <= policy.scale_down.max_step
        history, replicas, t = decision.history, decision.desired, t + 1
    assert replicas == policy.min_replicas


@given(policies(), observations, histories)
def test_one_decision_moves_at_most_max_step_unless_bounds_force_it(
    policy: Policy, obs: Observation, history: tuple[Recommendation, ...]
) -> None:
    decision = decide(policy, obs, history, now=1000.0)
    in_bounds = policy.min_replicas <= obs.current <= upper_bound(policy, obs.partitions)
    if in_bounds:
        assert decision.desired - obs.current <= policy.scale_up.max_step
        assert obs.current - decision.desired <= policy.scale_down.max_step


@given(policies(), observations, histories, st.floats(0, 0.99), st.integers(0, 10))
def test_no_scale_down_while_a_recent_recommendation_wanted_the_current_count(
    policy: Policy, obs: Observation, history: tuple[Recommendation, ...], age: float, above: int
) -> None:
    now = 1000.0
    down = policy.scale_down
    policy = replace(policy, scale_down=Behavior(max(1, down.stabilization_seconds), down.max_step))
    current = min(max(obs.current, policy.min_replicas), upper_bound(policy, obs.partitions))
    obs = replace(obs, current=current)
    # Within the scale-down window, something asked for at least the current count.
    wanted = Recommendation(now - age * policy.scale_down.stabilization_seconds, current + above)
    history = tuple(sorted((*history, wanted), key=lambda r: r.at))
    assert decide(policy, obs, history, now).desired >= current


@given(st.integers(1, 200), st.integers(1, 200))
def test_even_partitions_never_load_a_member_more_and_cost_no_more(replicas: int, partitions: int) -> None:
    chosen = efficient(replicas, partitions)
    asked = min(replicas, partitions)
    per_member = -(-partitions // asked)
    assert chosen <= asked
    assert -(-partitions // chosen) == per_member
    # The fewest such: one replica less would leave someone more partitions.
    assert chosen == 1 or -(-partitions // (chosen - 1)) > per_member


def test_seven_replicas_on_twelve_partitions_are_six() -> None:
    assert efficient(7, 12) == 6
    assert efficient(5, 12) == 4
    assert efficient(12, 12) == 12


@given(st.integers(0, 200), st.integers(1, 200))
def test_more_than_a_count_gives_each_member_fewer_partitions(replicas: int, partitions: int) -> None:
    chosen = more_than(replicas, partitions)
    if replicas >= partitions:
        assert chosen == partitions
        return
    assert chosen > replicas
    assert efficient(chosen, partitions) == chosen
    assert -(-partitions // chosen) < -(-partitions // max(replicas, 1)) or replicas == 0
    # The fewest such.
    assert all(efficient(n, partitions) != n for n in range(replicas + 1, chosen))


def test_after_four_on_twelve_partitions_comes_six() -> None:
    assert [more_than(n, 12) for n in (0, 1, 2, 3, 4, 5, 6, 11, 12)] == [1, 2, 3, 4, 6, 6, 12, 12, 12]


@given(policies(), observations, st.integers(0, 80))
def test_a_count_that_fell_behind_this_inflow_is_never_recommended_again(
    policy: Policy, obs: Observation, too_few: int
) -> None:
    replicas = first(policy, replace(obs, too_few=too_few)).recommended
    # Unless no count within the bounds leaves each member fewer partitions than `too_few` did.
    fewest_each = -(-obs.partitions // upper_bound(policy, obs.partitions))
    helps = too_few == 0 or fewest_each < -(-obs.partitions // too_few)
    if active(policy, obs) and helps:
        assert replicas > too_few
    if not too_few:
        assert replicas == first(policy, obs).recommended


@given(policies(), st.integers(2, 64), st.integers(1, 80), st.floats(1.01, 50), histories)
def test_no_scale_down_while_a_partition_alone_needs_more_than_a_replica(
    policy: Policy, partitions: int, current: int, hot: float, history: tuple[Recommendation, ...]
) -> None:
    # A hot key brings `hot` replicas' worth to partition 0; the rest are idle, so lag alone asks for little.
    load = ((0, hot * 10.0), *[(0, 0.0)] * (partitions - 1))
    obs = Observation(0, hot * 10.0, 10.0, partitions, current, partition_load=load)
    decision = decide(policy, obs, history, now=1000.0)
    assert decision.desired >= min(current, upper_bound(policy, partitions))
    if decision.recommended < current <= upper_bound(policy, partitions):
        assert decision.reason in {"ScaleDownWindow", "HotPartition"}


def test_a_hot_partition_gets_no_replicas_that_cannot_help_it() -> None:
    # 300/s, 70 % on partition 0 (210/s) with replicas of 100/s: no count keeps up with partition 0, and 12
    # replicas would drain it no faster than 2 (one holding it and 5 cold ones, one the other 6 cold ones).
    hot = tuple([(0, 210.0)] + [(0, 90.0 / 11)] * 11)
    obs = Observation(0, 300.0, 100.0, 12, 1, partition_load=hot)
    assert by_rate(obs, 60.0, 100.0) == 2
    # Spread evenly, the same 300/s needs 3 replicas (4 partitions of 25/s each).
    even = Observation(0, 300.0, 100.0, 12, 1)
    assert by_rate(even, 60.0, 100.0) == 3


def test_lag_on_one_partition_asks_for_one_replica_not_lag_over_lag_per_replica() -> None:
    policy = Policy(100, 0, 0, 20, 60.0, Behavior(0, 100), Behavior(120, 100))
    load = tuple([(30_000, 50.0)] + [(0, 1.0)] * 11)
    replicas, _, _ = recommend(policy, Observation(30_000, 61.0, None, 12, 1, partition_load=load))
    assert replicas == 1


def test_a_group_that_never_committed_wakes_when_records_arrive() -> None:
    policy = Policy(100, 0, 0, 20, 60.0, Behavior(0, 100), Behavior(120, 100))
    # `latest` and no commits: lag 0, however many records arrive; without a consumer it never commits.
    asleep = Observation(0, 50.0, None, 12, 0, never_committed=True)
    assert first(policy, asleep).desired == 1
    assert first(policy, Observation(0, 0.0, None, 12, 0, never_committed=True)).desired == 0
    assert first(policy, Observation(0, 50.0, None, 12, 0)).desired == 0  # committed before: lag decides


@given(policies(), observations, histories, st.floats(0.0, 1e5, allow_nan=False))
def test_no_scale_down_while_the_inflow_rises(
    policy: Policy, obs: Observation, history: tuple[Recommendation, ...], previous: float
) -> None:
    current = min(max(obs.current, policy.min_replicas), upper_bound(policy, obs.partitions))
    rising = replace(obs, current=current, previous_inflow=previous, inflow=previous * 1.1 + 1)
    assert decide(policy, rising, history, now=1000.0).desired >= current
