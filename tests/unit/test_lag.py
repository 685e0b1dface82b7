"""Lag arithmetic: never negative, offsetResetPolicy from the log start, transaction markers tolerated."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from eventkit.lag import (
    PartitionLag,
    PartitionOffsets,
    actionable_lag,
    group_lag,
    partition_lag,
    total_lag,
)
from eventkit.settings import KafkaSettings
from orderflow.lag import default_topics


@st.composite
def offsets(draw: st.DrawFn) -> PartitionOffsets:
    start = draw(st.integers(0, 10_000))
    end = draw(st.integers(start, start + 10_000))
    committed = draw(st.none() | st.integers(0, end + 100))
    return PartitionOffsets("t", draw(st.integers(0, 63)), start, end, committed)


resets = st.sampled_from(["earliest", "latest"])


@given(offsets(), resets)
def test_lag_is_never_negative_nor_beyond_the_retained_log(o: PartitionOffsets, reset: str) -> None:
    lag = partition_lag(o, reset)  # type: ignore[arg-type]
    assert 0 <= lag.lag <= o.log_end - o.log_start
    assert o.log_start <= lag.position <= o.log_end


@given(offsets())
def test_a_valid_commit_decides_whatever_the_reset_policy(o: PartitionOffsets) -> None:
    if o.committed is not None and o.committed >= o.log_start:
        earliest, latest = partition_lag(o, "earliest"), partition_lag(o, "latest")
        assert earliest == latest
        assert earliest.lag == max(0, o.log_end - o.committed)
        assert earliest.source == "committed"


def test_without_commit_earliest_counts_from_the_log_start_not_from_zero() -> None:
    # 1000 records written, retention deleted the first 900: only 100 can still be read (KEDA #7936).
    o = PartitionOffsets("orders", 0, log_start=900, log_end=1000, committed=None)
    assert partition_lag(o, "earliest").lag == 100
    assert partition_lag(o, "latest").lag == 0


def test_a_commit_below_the_log_start_follows_the_reset_policy() -> None:
    o = PartitionOffsets("orders", 0, log_start=900, log_end=1000, committed=10)
    assert (partition_lag(o, "earliest").lag, partition_lag(o, "earliest").source) == (100, "earliest")
    assert (partition_lag(o, "latest").lag, partition_lag(o, "latest").source) == (0, "latest")


def test_transaction_markers_leave_an_idle_group_idle() -> None:
    # Each partition ends with a commit marker after the group's last committed offset (KEDA #5675).
    lags = group_lag([PartitionOffsets("t", p, 0, 101, 100) for p in range(6)], "latest")
    assert total_lag(lags) == 6
    assert actionable_lag(lags, marker_tolerance=1) == 0
    assert actionable_lag(lags, marker_tolerance=0) == 6


@given(st.lists(st.integers(0, 1000), max_size=20), st.integers(0, 10))
def test_actionable_lag_only_drops_partitions_within_the_tolerance(values: list[int], tolerance: int) -> None:
    lags = [PartitionLag("t", i, v, v, 0, "committed") for i, v in enumerate(values)]
    assert actionable_lag(lags, tolerance) == sum(v for v in values if v > tolerance)
    assert total_lag(lags) - actionable_lag(lags, tolerance) <= tolerance * len(values)


def test_orderflow_lag_counts_a_services_inputs_and_their_retry_topics() -> None:
    topics = default_topics(KafkaSettings(namespace="shop."), "inventory")
    assert topics == ["shop.orders", "shop.orders.retry.1", "shop.orders.retry.2", "shop.orders.retry.3"]
    assert default_topics(KafkaSettings(namespace=""), "someone-else") == [], "other groups: give --topic"
