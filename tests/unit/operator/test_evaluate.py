"""One evaluation: rates between polls, the per-replica estimate from members' commits, its warm-up."""

from __future__ import annotations

from eventkit.lag import PartitionLag
from operators.scaler.evaluate import Memory, evaluate
from operators.scaler.policy import Behavior, Policy

POLICY = Policy(
    lag_per_replica=100,
    activation_lag=0,
    min_replicas=1,
    max_replicas=2,
    drain_seconds=60,
    scale_up=Behavior(0, 4),
    scale_down=Behavior(300, 1),
    warmup_seconds=30,
)
TWO = [frozenset({("t", 0), ("t", 1)}), frozenset({("t", 2), ("t", 3)})]


def lags(log_end: int, position: int, partitions: int = 4) -> list[PartitionLag]:
    share, at = log_end // partitions, position // partitions
    return [PartitionLag("t", p, share - at, share, at, "committed") for p in range(partitions)]


def test_first_poll_has_no_rates_and_seeds_the_window_with_the_current_count() -> None:
    result, memory = evaluate(POLICY, 1, lags(10_000, 0), 2, Memory(), now=0.0, members=TWO)
    assert (result.produce_rate, result.consume_rate, result.per_replica_rate) == (0.0, 0.0, None)
    assert memory.history is not None
    assert memory.history[0].replicas == 2


def test_members_with_a_backlog_teach_the_per_replica_rate() -> None:
    _, memory = evaluate(POLICY, 1, lags(10_000, 0), 2, Memory(), now=0.0, members=TWO)
    result, memory = evaluate(POLICY, 1, lags(12_000, 1_000), 2, memory, now=40.0, members=TWO)
    assert (result.produce_rate, result.consume_rate) == (50.0, 25.0)
    assert result.per_replica_rate == 12.5  # each member moved its partitions' commits by 500 in 40 s


def test_no_rate_is_learnt_while_new_replicas_warm_up() -> None:
    _, memory = evaluate(POLICY, 1, lags(10_000, 0), 1, Memory(), now=0.0, members=TWO[:1])  # scales 1 -> 2
    assert memory.replicas == 2
    result, memory = evaluate(POLICY, 1, lags(12_000, 500), 2, memory, now=10.0, members=TWO)
    assert result.per_replica_rate is None
    result, _ = evaluate(POLICY, 1, lags(14_000, 1_500), 2, memory, now=40.0, members=TWO)
    assert result.per_replica_rate == 500 / 30  # the members kept their partitions from t=10 to t=40


def test_a_group_that_keeps_up_teaches_nothing() -> None:
    # 100 records/s arrive and 40 wait between commits: less than a second of inflow, records in flight.
    _, memory = evaluate(POLICY, 1, lags(100_000, 99_960), 2, Memory(), now=0.0, members=TWO)
    result, _ = evaluate(POLICY, 1, lags(104_000, 103_960), 2, memory, now=40.0, members=TWO)
    assert result.consume_rate == 100.0
    assert result.per_replica_rate is None


def test_an_inactive_group_seen_first_may_go_to_zero_at_once() -> None:
    policy = Policy(100, 0, 0, 4, 60, Behavior(0, 4), Behavior(300, 4))
    idle = lags(1000, 1000)
    _, memory = evaluate(policy, 1, idle, 2, Memory(), now=0.0)
    result, _ = evaluate(policy, 1, idle, 2, memory, now=10.0)
    assert result.decision.desired == 0


def test_a_group_keeping_up_with_its_inflow_is_not_stopped_at_first_look() -> None:
    """No lag at the first poll may be an idle group or one keeping up with steady traffic: the next poll tells."""
    policy = Policy(100, 0, 0, 4, 60, Behavior(0, 4), Behavior(300, 4))
    first, memory = evaluate(policy, 1, lags(1000, 1000), 2, Memory(), now=0.0)
    assert (first.decision.desired, first.decision.reason) == (2, "MeasuringInflow")
    flowing = lags(1500, 1500)  # 50 records/s produced and consumed: still no lag
    second, _ = evaluate(policy, 1, flowing, 2, memory, now=10.0)
    assert second.produce_rate == 50.0
    assert second.decision.desired == 2


def test_the_first_look_holds_within_the_bounds() -> None:
    """A lowered maxReplicas applies at once, first look or not."""
    policy = Policy(100, 0, 0, 4, 60, Behavior(0, 4), Behavior(300, 4))
    first, memory = evaluate(policy, 1, lags(1000, 1000), 6, Memory(), now=0.0)
    assert (first.decision.desired, first.decision.reason) == (4, "MeasuringInflow")
    assert memory.history is None
