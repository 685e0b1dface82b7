"""The KEDA + HPA model follows the real sources on each point (keda.py names file and line)."""

from __future__ import annotations

import dataclasses

import pytest

from devstack.scalerbench import keda
from devstack.scalerbench.simulate import GroupView
from devstack.scalerbench.simulate import traces as simulated_traces
from devstack.scalerbench.traces import traces as bench_traces
from eventkit.lag import PartitionLag

CONFIG = keda.KedaConfig(lag_threshold=100, max_replica_count=40)


def lags(lag_per_partition: list[int], source: str = "committed") -> list[PartitionLag]:
    return [PartitionLag("t", p, lag, 1000, 1000 - lag, source) for p, lag in enumerate(lag_per_partition)]  # type: ignore[arg-type]


def view(lag_per_partition: list[int], replicas: int, source: str = "committed") -> GroupView:
    return GroupView(lags(lag_per_partition, source), replicas, ())


def test_the_cap_is_integer_division_so_partitions_plus_one_get_through() -> None:
    # 12 partitions, 1299 lag: 1299 // 100 = 12 is not > 12, so the metric stays 1299 -> 13 replicas.
    metric, _ = keda.total_lag(lags([108] * 11 + [111]), CONFIG)
    assert metric == 1299
    assert keda.KedaHpa(CONFIG)._raw(1, metric) == 13
    assert keda.total_lag(lags([200] * 12), CONFIG)[0] == 1200  # 2400 // 100 > 12: capped


def test_a_partition_without_a_commit_counts_one_under_latest_and_its_records_under_earliest() -> None:
    never = lags([0, 0, 500], source="latest")
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


# The Kafka trigger's options (kafka_scaler.go:72-76), each against the same lag without it.


def committed(lag_per_partition: list[int], at: int = 0) -> list[PartitionLag]:
    """Partitions whose group committed offset `at`, with `lag` records after it."""
    return [PartitionLag("t", p, lag, at + lag, at, "committed") for p, lag in enumerate(lag_per_partition)]


def test_even_distribution_rounds_the_metric_up_to_a_factor_of_the_partitions() -> None:
    lags = committed([38] * 9 + [36] * 3)  # 450 on 12 partitions
    even = keda.KedaConfig(lag_threshold=100, ensure_even_distribution_of_partitions=True)
    assert keda.total_lag(lags, CONFIG) == (450, 450)
    assert keda.total_lag(lags, even) == (600, 450)
    assert keda.KedaHpa(CONFIG)._raw(1, 450) == 5
    assert keda.KedaHpa(even).step(15, GroupView(lags, 1, ())) == 4  # 6 wanted, at most max(2 x 1, 4)
    assert keda.KedaHpa(even).step(15, GroupView(lags, 4, ())) == 6  # not 5: 12 partitions split evenly


def test_even_distribution_jumps_from_six_to_twelve_and_ends_the_partitions_plus_one() -> None:
    even = keda.KedaConfig(lag_threshold=100, ensure_even_distribution_of_partitions=True)
    assert keda.total_lag(committed([50] * 12 + [1]), even)[0] == 1300  # 13 partitions: factors 1, 13
    assert keda.total_lag(committed([51] * 12), even)[0] == 1200  # 612: no 7 to 11, the next factor is 12
    assert keda.total_lag(committed([108] * 11 + [111]), even)[0] == 1200  # 1299: 12 replicas, not 13
    # No lag still reads as one replica's worth (factor 1): the HPA's floor is 1 anyway, activity decides 0.
    assert keda.total_lag(committed([0] * 12), even) == (100, 0)


def test_limit_to_partitions_with_lag_caps_at_the_partitions_that_lag() -> None:
    hot = committed([5000] + [0] * 11)
    limit = keda.KedaConfig(lag_threshold=100, limit_to_partitions_with_lag=True)
    assert keda.total_lag(hot, CONFIG)[0] == 1200  # 12 replicas for one partition
    assert keda.total_lag(hot, limit) == (100, 5000)
    assert keda.total_lag(committed([5000, 1] + [0] * 10), limit)[0] == 200
    # The same integer division as the partition cap: 199 // 100 is not > 1, so two replicas get through.
    assert keda.total_lag(committed([199] + [0] * 11), limit)[0] == 199


def test_allow_idle_consumers_lifts_the_cap() -> None:
    idle = keda.KedaConfig(lag_threshold=100, allow_idle_consumers=True)
    assert keda.total_lag(committed([200] * 12), idle)[0] == 2400
    both = keda.KedaConfig(lag_threshold=100, allow_idle_consumers=True, ensure_even_distribution_of_partitions=True)
    assert keda.total_lag(committed([200] * 12), both)[0] == 1200  # the even distribution caps again (940)


def test_persistent_lag_leaves_the_metric_after_one_unmoved_call_but_not_the_activity() -> None:
    config = keda.KedaConfig(lag_threshold=100, exclude_persistent_lag=True)
    previous: dict[tuple[str, int], int] = {}
    assert keda.total_lag(committed([30, 20]), config, previous) == (50, 50)  # first sight counts
    assert keda.total_lag(committed([30, 20]), config, previous) == (0, 50)  # unmoved: for activity only
    moved = [*committed([25], at=5), *committed([0, 26])[1:]]  # partition 0 consumed 5; 1 got 6 more, unread
    assert keda.total_lag(moved, config, previous) == (25, 51)
    assert previous == {("t", 0): 5, ("t", 1): 0}


def test_a_partition_without_a_commit_is_never_excluded() -> None:
    config = keda.KedaConfig(exclude_persistent_lag=True)
    previous: dict[tuple[str, int], int] = {}
    never = lags([0, 0, 0], source="latest")
    assert keda.total_lag(never, config, previous) == keda.total_lag(never, config, previous) == (3, 3)
    assert previous == {}  # getLagForPartition returns before the excludePersistentLag block


def test_persistent_lag_keeps_a_marker_active() -> None:
    marker = committed([1, 0, 0])
    scaler = keda.KedaHpa(keda.KedaConfig(exclude_persistent_lag=True, cooldown_period=0))
    assert scaler.step(30, GroupView(marker, 1, ())) is None
    assert scaler.step(60, GroupView(marker, 1, ())) is None  # excluded from the metric, still active


def test_kedas_poll_and_the_hpas_query_share_the_remembered_commits() -> None:
    lags = committed([100] * 12)
    config = keda.KedaConfig(lag_threshold=100, max_replica_count=40, exclude_persistent_lag=True)
    assert keda.KedaHpa(keda.KedaConfig(lag_threshold=100, max_replica_count=40)).step(0, GroupView(lags, 1, ())) == 4
    # KEDA's poll at 0 remembers the commits; the HPA's query in the same second finds them unmoved.
    scaler = keda.KedaHpa(config)
    assert scaler.step(0, GroupView(lags, 1, ())) is None
    assert scaler.step(15, GroupView(committed([100] * 12, at=10), 1, ())) == 4  # moved: counted again
    # Where the HPA reads KEDA's cached value, it never asks the scaler, so its first poll's sight counts.
    cached = keda.KedaHpa(
        keda.KedaConfig(lag_threshold=100, max_replica_count=40, exclude_persistent_lag=True, use_cached_metrics=True)
    )
    assert cached.step(0, GroupView(lags, 1, ())) == 4


def test_scale_to_zero_on_invalid_offset_never_wakes_a_new_group_under_latest() -> None:
    new = view([0] * 12, 0, source="latest")
    assert keda.KedaHpa(keda.tuned(100, 12)).step(0, new) == 1  # 12 x lag 1 > activation 1
    quiet = keda.KedaHpa(keda.KedaConfig(activation_lag_threshold=1, scale_to_zero_on_invalid_offset=True))
    assert keda.total_lag(lags([0] * 12, source="latest"), quiet.config) == (0, 0)
    assert quiet.step(0, new) is None  # nobody consumes at 0 replicas, so no commit ever comes


def test_the_clashes_kedas_validate_refuses() -> None:
    with pytest.raises(ValueError, match="allowIdleConsumers and limitToPartitionsWithLag"):
        keda.KedaConfig(allow_idle_consumers=True, limit_to_partitions_with_lag=True)
    with pytest.raises(ValueError, match="limitToPartitionsWithLag and ensureEvenDistributionOfPartitions"):
        keda.KedaConfig(limit_to_partitions_with_lag=True, ensure_even_distribution_of_partitions=True)
    keda.KedaConfig(allow_idle_consumers=True, ensure_even_distribution_of_partitions=True)  # allowed (140-151)


def test_options_name_every_boolean_field_by_its_metadata_key() -> None:
    assert set(keda.OPTIONS) == set(keda.TriggerOptions.__annotations__)
    every = keda.KedaConfig(
        allow_idle_consumers=True,
        exclude_persistent_lag=True,
        scale_to_zero_on_invalid_offset=True,
        ensure_even_distribution_of_partitions=True,
    )
    assert keda.options(every) == {
        "allowIdleConsumers": "true",
        "excludePersistentLag": "true",
        "scaleToZeroOnInvalidOffset": "true",
        "ensureEvenDistributionOfPartitions": "true",
    }
    assert keda.options(keda.tuned(100, 12)) == {}


BENCH_AND_SIMULATED = sorted({t.name for t in simulated_traces()} | {t.name for t in bench_traces()})


@pytest.mark.parametrize("trace", BENCH_AND_SIMULATED)
def test_best_is_tuned_plus_the_trigger_options_of_its_trace(trace: str) -> None:
    best, tuned = keda.best(trace, 100, 12), keda.tuned(100, 12)
    assert best.name == "keda-best"
    others = [f.name for f in dataclasses.fields(tuned) if f.name not in {"name", *keda.OPTIONS}]
    assert [getattr(best, name) for name in others] == [getattr(tuned, name) for name in others]
    assert not keda.options(tuned)
    assert keda.options(best)  # at least one option on every trace


def test_best_options_per_trace() -> None:
    chosen = {trace: keda.options(keda.best(trace, 100, 12)) for trace in BENCH_AND_SIMULATED}
    assert chosen["hot-partition"] == {"limitToPartitionsWithLag": "true"}
    assert chosen["idle-markers"] == {"excludePersistentLag": "true", "ensureEvenDistributionOfPartitions": "true"}
    for trace in ("burst", "ramp", "sine", "new-group", "broker-restart"):
        assert chosen[trace] == {"ensureEvenDistributionOfPartitions": "true"}, trace
    with pytest.raises(KeyError):
        keda.best("no-such-trace", 100, 12)
