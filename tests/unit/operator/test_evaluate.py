"""One evaluation: rates between polls, the per-replica estimate from members' commits, its warm-up."""

from __future__ import annotations

from dataclasses import replace

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
    assert memory.history.recommendations[0].replicas == 2


def test_members_with_a_backlog_teach_the_per_replica_rate() -> None:
    _, memory = evaluate(POLICY, 1, lags(10_000, 0), 2, Memory(), now=0.0, members=TWO)
    result, memory = evaluate(POLICY, 1, lags(12_000, 1_000), 2, memory, now=40.0, members=TWO)
    assert (result.produce_rate, result.consume_rate) == (50.0, 25.0)
    assert result.per_replica_rate == 12.5  # each member moved its partitions' commits by 500 in 40 s


def test_no_rate_is_learnt_across_a_rebalance() -> None:
    _, memory = evaluate(POLICY, 1, lags(10_000, 0), 1, Memory(), now=0.0, members=TWO[:1])  # scales 1 -> 2
    assert memory.history.replicas == 2
    result, memory = evaluate(POLICY, 1, lags(12_000, 500), 2, memory, now=10.0, members=TWO)
    assert result.per_replica_rate is None
    result, _ = evaluate(POLICY, 1, lags(14_000, 1_500), 2, memory, now=40.0, members=TWO)
    assert result.per_replica_rate == 500 / 30  # the members kept their partitions from t=10 to t=40


def test_members_teach_the_rate_as_soon_as_the_assignment_holds_still() -> None:
    """The warm-up after a scale is for the pooled estimate; a member's commits between two polls with the same
    assignment are a measure even right after a scale (a lone replica that falls behind says what one can do)."""
    _, memory = evaluate(POLICY, 1, lags(10_000, 0), 2, Memory(), now=0.0, members=TWO)
    # Scaled 2 -> 1 at t=0 (say): the lone member holds everything from t=10 on.
    one = [frozenset().union(*TWO)]
    scaled = replace(memory, history=replace(memory.history, changed_at=0.0))
    _, memory = evaluate(POLICY, 1, lags(11_000, 200), 1, scaled, now=10.0, members=one)
    result, memory = evaluate(POLICY, 1, lags(12_000, 600), 1, memory, now=20.0, members=one)
    assert memory.history.changed_at > 20.0 - POLICY.warmup_seconds
    assert result.per_replica_rate == 40.0


def test_the_pooled_estimate_waits_for_new_pods_to_warm_up() -> None:
    _, memory = evaluate(POLICY, 1, lags(10_000, 0), 1, Memory(), now=0.0)  # scales 1 -> 2, members unknown
    result, memory = evaluate(POLICY, 1, lags(12_000, 500), 2, memory, now=10.0)
    assert result.per_replica_rate is None
    result, _ = evaluate(POLICY, 1, lags(14_000, 1_500), 2, memory, now=40.0)
    assert result.per_replica_rate == 1_000 / 30 / 2


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
    assert memory.history.recommendations == ()


SHORTFALL = Policy(100, 0, 1, 12, 60, Behavior(0, 12), Behavior(0, 12), warmup_seconds=30)


def totals(produced: int, consumed: int) -> list[PartitionLag]:
    """12 partitions, `produced` records in all so far and `consumed` of them committed."""
    end, at = produced // 12, consumed // 12
    return [PartitionLag("t", p, end - at, end, at, "committed") for p in range(12)]


def test_a_scale_down_the_lag_undoes_is_not_repeated_while_the_inflow_holds() -> None:
    """A group keeping up shows no lag: the lag alone asks for one replica, one falls behind, the lag asks for
    six, and so on every window. The undone scale-down is remembered for as long as the inflow holds."""
    _, memory = evaluate(SHORTFALL, 1, totals(0, 0), 6, Memory(), now=0.0)
    keeping_up, memory = evaluate(SHORTFALL, 1, totals(1200, 1200), 6, memory, now=10.0)  # 120/s in and out
    assert keeping_up.decision.desired == 1  # no rate learnt and no lag: one
    behind, memory = evaluate(SHORTFALL, 1, totals(2400, 1800), 1, memory, now=20.0)
    assert behind.decision.desired == 6
    assert memory.history.too_few is not None
    assert memory.history.too_few.replicas == 1
    again, memory = evaluate(SHORTFALL, 1, totals(3600, 3600), 6, memory, now=30.0)
    assert (again.decision.desired, again.decision.reason) == (2, "FellBehindBefore")
    # The inflow halves: the evidence is for more traffic than there is now, and one replica may do again.
    calmer, memory = evaluate(SHORTFALL, 1, totals(4200, 4200), 2, memory, now=40.0)
    assert calmer.decision.desired == 1
    assert memory.history.too_few is None


def test_a_scale_up_for_more_inflow_undoes_nothing() -> None:
    _, memory = evaluate(SHORTFALL, 1, totals(0, 0), 6, Memory(), now=0.0)
    _, memory = evaluate(SHORTFALL, 1, totals(1200, 1200), 6, memory, now=10.0)
    assert memory.history.scaled_down is not None
    assert memory.history.scaled_down.replicas == 1
    # Twice the records: the lag says nothing about what one replica does with the old inflow.
    rising, memory = evaluate(SHORTFALL, 1, totals(3600, 3000), 1, memory, now=20.0)
    assert rising.decision.desired > 1
    assert (memory.history.scaled_down, memory.history.too_few) == (None, None)


def test_an_unmeasured_poll_keeps_the_shortfall() -> None:
    """After Kafka was unreachable the operator drops the snapshot (a rate across the outage would average it
    away): the poll after measures no inflow, which is no evidence that the inflow fell."""
    _, memory = evaluate(SHORTFALL, 1, totals(0, 0), 6, Memory(), now=0.0)
    _, memory = evaluate(SHORTFALL, 1, totals(1200, 1200), 6, memory, now=10.0)
    _, memory = evaluate(SHORTFALL, 1, totals(2400, 1800), 1, memory, now=20.0)
    assert memory.history.too_few is not None
    outage = replace(memory, rate=memory.rate.forget_snapshot())
    back, memory = evaluate(SHORTFALL, 1, totals(9600, 3600), 6, outage, now=80.0)
    assert back.produce_rate == 0.0
    assert memory.history.too_few is not None
    assert memory.history.too_few.replicas == 1
    drained, memory = evaluate(SHORTFALL, 1, totals(10800, 10800), 6, memory, now=90.0)
    assert (drained.decision.desired, drained.decision.reason) == (2, "FellBehindBefore")
