"""One evaluation: rates between polls, the per-replica estimate and its warm-up after a scale."""

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


def lags(log_end: int, position: int, partitions: int = 4) -> list[PartitionLag]:
    return [
        PartitionLag(
            "t", p, (log_end - position) // partitions, log_end // partitions, position // partitions, "committed"
        )
        for p in range(partitions)
    ]


def test_first_poll_has_no_rates_and_seeds_the_window_with_the_current_count() -> None:
    result, memory = evaluate(POLICY, 1, lags(10_000, 0), 2, Memory(), now=0.0)
    assert (result.produce_rate, result.consume_rate, result.per_replica_rate) == (0.0, 0.0, None)
    assert memory.history is not None
    assert memory.history[0].replicas == 2


def test_a_saturated_group_teaches_the_per_replica_rate() -> None:
    _, memory = evaluate(POLICY, 1, lags(10_000, 0), 2, Memory(), now=0.0)
    result, memory = evaluate(POLICY, 1, lags(12_000, 1_000), 2, memory, now=10.0)
    assert (result.produce_rate, result.consume_rate) == (200.0, 100.0)
    assert result.per_replica_rate == 50.0  # 100 records/s over 2 replicas
    assert result.decision.desired == 2  # maxReplicas


def test_no_rate_is_learnt_while_new_replicas_warm_up() -> None:
    _, memory = evaluate(POLICY, 1, lags(10_000, 0), 1, Memory(), now=0.0)  # scales 1 -> 2 at t=0
    assert memory.replicas == 2
    result, memory = evaluate(POLICY, 1, lags(12_000, 500), 2, memory, now=10.0)
    assert result.per_replica_rate is None
    result, _ = evaluate(POLICY, 1, lags(14_000, 1_500), 2, memory, now=40.0)
    assert result.per_replica_rate == 50.0 / 3 * 2 / 2  # 1000 records in 30 s over 2 replicas


def test_a_group_that_keeps_up_teaches_nothing() -> None:
    _, memory = evaluate(POLICY, 1, lags(10_000, 9_960), 2, Memory(), now=0.0)
    result, _ = evaluate(POLICY, 1, lags(10_400, 10_360), 2, memory, now=10.0)
    assert result.consume_rate == 40.0
    assert result.per_replica_rate is None
