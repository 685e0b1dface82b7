"""The KEDA + HPA model follows the real sources on each point (keda.py names file and line)."""

from __future__ import annotations

from devstack.scalerbench import keda
from devstack.scalerbench.simulate import GroupView
from eventkit.lag import PartitionLag

CONFIG = keda.KedaConfig(lag_threshold=100, max_replica_count=40)


def view(lag_per_partition: list[int], replicas: int, source: str = "committed") -> GroupView:
    lags = [PartitionLag("t", p, lag, 1000, 1000 - lag, source) for p, lag in enumerate(lag_per_partition)]  # type: ignore[arg-type]
    return GroupView(lags, replicas, ())


def test_the_cap_is_integer_division_so_partitions_plus_one_get_through() -> None:
    # 12 partitions, 1299 lag: 1299 // 100 = 12 is not > 12, so the metric stays 1299 -> 13 replicas.
    metric, _ = keda.total_lag(view([108] * 11 + [111], 1).lags, CONFIG)
    assert metric == 1299
    assert keda.KedaHpa(CONFIG)._raw(1, metric) == 13
    assert keda.total_lag(view([200] * 12, 1).lags, CONFIG)[0] == 1200  # 2400 // 100 > 12: capped


def test_a_partition_without_a_commit_counts_one_under_latest_and_its_records_under_earliest() -> None:
    never = view([0, 0, 500], 1, source="latest").lags
    assert keda.total_lag(never, CONFIG) == (3, 3)
    retained = [PartitionLag("t", 0, 700, 700, 0, "earliest")]
    assert keda.total_lag(retained, keda.KedaConfig(offset_reset_policy="earliest"))[1] == 700


def test_the_hpa_reads_the_lag_live_at_each_sync_not_at_kedas_last_poll() -> None:
    scaler = keda.KedaHpa(CONFIG)
    assert scaler.step(0, view([10] * 40, 1)) == 4  # KEDA polls at 0 (metric 400); the HPA syncs at 0 too
    # At 15 s only the HPA runs: the lag is now 1600, which it sees, although KEDA's last poll read 400.
    assert scaler.step(15, view([40] * 40, 4)) == 8  # 16 wanted, at most 2 x 4
    cached = keda.KedaHpa(keda.KedaConfig(lag_threshold=100, max_replica_count=40, use_cached_metrics=True))
    assert cached.step(0, view([10] * 40, 1)) == 4
    assert cached.step(15, view([40] * 40, 4)) is None  # still 400, KEDA's value


def test_without_behavior_scale_up_is_at_most_twice_the_current_count_or_four() -> None:
    assert keda.KedaHpa(CONFIG).step(15, view([1000] * 40, 1)) == 4
    assert keda.KedaHpa(CONFIG).step(15, view([1000] * 40, 5)) == 10


def test_the_stabilization_window_keeps_the_highest_recommendation_and_can_raise() -> None:
    scaler = keda.KedaHpa(CONFIG)
    assert scaler.step(15, view([25] * 40, 1)) == 4  # wants 10, limited to 4
    # The lag dropped to 2 replicas' worth, yet the window's 10 wins: it raises from 4 to 8.
    assert scaler.step(30, view([5] * 40, 4)) == 8


def test_the_tolerance_stalls_the_last_replicas_below_the_cap() -> None:
    # KEDA #2908: 11 replicas, metric capped at 1200: ratio 1.09 is within the 10 % tolerance.
    assert keda.KedaHpa(CONFIG).step(15, view([10_000] * 12, 11)) is None


def test_the_cooldown_is_strict() -> None:
    scaler = keda.KedaHpa(keda.KedaConfig(polling_interval=30, cooldown_period=60))
    scaler.step(0, view([5], 1))  # active at 0
    assert scaler.step(60, view([0], 1)) is None  # 0 + 60 is not before 60
    assert scaler.step(90, view([0], 1)) == 0


def test_a_scaled_object_never_active_goes_to_zero_at_once() -> None:
    assert keda.KedaHpa(keda.KedaConfig(polling_interval=30)).step(30, view([0], 2)) == 0


def test_a_transaction_marker_keeps_the_default_active_but_not_activation_one() -> None:
    marker = view([1, 0, 0], 1)
    assert keda.KedaHpa(keda.KedaConfig(cooldown_period=0)).step(30, marker) is None
    assert keda.KedaHpa(keda.KedaConfig(activation_lag_threshold=1, cooldown_period=0)).step(30, marker) == 0


def test_tuned_behavior_adds_at_most_twelve_pods_per_fifteen_seconds() -> None:
    scaler = keda.KedaHpa(keda.tuned(100, 40))
    assert scaler.step(0, view([1000] * 40, 1)) == 13
    assert scaler.step(15, view([1000] * 40, 13)) == 25
