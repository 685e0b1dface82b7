"""The load summary: nearest-rank percentiles, counts by status and reason, rates."""

from __future__ import annotations

import json

import pytest

from orderflow.loadstats import Outcome, percentile, summarize


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0


def test_percentile_of_few_values_is_one_of_them() -> None:
    assert percentile([0.3], 99) == 0.3
    assert percentile([0.1, 0.2], 50) == 0.1
    assert percentile([0.1, 0.2], 51) == 0.2
    assert percentile([], 50) is None


@pytest.mark.parametrize("pct", [0, -1, 100.5])
def test_percentile_rejects_out_of_range(pct: float) -> None:
    with pytest.raises(ValueError, match="out of range"):
        percentile([1.0], pct)


def test_summary_counts_rates_and_latencies() -> None:
    outcomes = [
        Outcome("CONFIRMED", latency=0.010),
        Outcome("CONFIRMED", latency=0.020),
        Outcome("CONFIRMED", latency=0.030),
        Outcome("CANCELLED", latency=0.040, cancel_reason="payment_declined"),
        Outcome("CANCELLED", latency=0.050, cancel_reason="payment_declined"),
        Outcome("CANCELLED", latency=0.060, cancel_reason="out_of_stock"),
        Outcome("CANCELLED", latency=0.070),
        Outcome("PENDING"),
    ]
    summary = summarize(
        requested=11,
        outcomes=outcomes,
        rejected={"503": 1, "422": 2},
        placement_seconds=2.0,
        total_seconds=3.5,
    )
    assert summary.accepted == 8
    assert summary.rejected_total == 3
    assert list(summary.rejected) == ["422", "503"]
    assert summary.confirmed == 3
    assert summary.cancelled == {"payment_declined": 2, "out_of_stock": 1, "unknown": 1}
    assert summary.cancelled_total == 4
    assert summary.pending == 1
    assert summary.terminal == 7
    assert summary.orders_per_second == 4.0
    assert summary.end_to_end_per_second == 2.0
    assert summary.latency_ms["p50"] == pytest.approx(40.0)
    assert summary.latency_ms["p99"] == pytest.approx(70.0)
    assert summary.latency_ms["max"] == pytest.approx(70.0)


def test_empty_run_has_no_latencies_and_zero_rates() -> None:
    summary = summarize(
        requested=5, outcomes=[], rejected={"error:ConnectError": 5}, placement_seconds=0.0, total_seconds=0.0
    )
    data = summary.as_dict()
    assert data["accepted"] == 0
    assert data["rejected"] == 5
    assert data["orders_per_second"] == 0.0
    assert data["latency_ms"] == {"p50": None, "p95": None, "p99": None, "max": None}


def test_as_dict_is_json_ready() -> None:
    summary = summarize(
        requested=1,
        outcomes=[Outcome("CONFIRMED", latency=0.0123)],
        rejected={},
        placement_seconds=0.5,
        total_seconds=1.0,
    )
    data = json.loads(json.dumps(summary.as_dict()))
    assert data["confirmed"] == 1
    assert data["latency_ms"]["p95"] == 12.3
    assert data["end_to_end_per_second"] == 1.0
