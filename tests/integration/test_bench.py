"""`orderflow bench --quick` runs end to end and writes sane JSON. It measures nothing that a test may assert:
a benchmark prints figures, a test checks only that they exist and make sense (no speed is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.kafka import KafkaCluster

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(900)]


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and value > 0


def test_a_quick_bench_writes_every_figure(kafka: KafkaCluster, tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers}
    argv = [sys.executable, "-m", "orderflow.cli", "bench", "--quick", "--output", str(output)]
    done = subprocess.run(
        [*argv, "--state-dir", str(tmp_path / "state")], env=env, capture_output=True, text=True, timeout=840
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(output.read_text())

    saturation = result["saturation"]
    assert saturation["pending"] == 0
    assert saturation["orders"] == result["sizes"]["saturation"]
    assert _positive(saturation["final_per_minute"])
    assert _positive(saturation["cpu_ms_per_order"]["total"])
    assert {"orders", "inventory", "payments", "load generator"} <= set(saturation["cpu_ms_per_order"])
    assert all(_positive(mib) for mib in saturation["peak_rss_mib"].values())
    assert [level["share"] for level in result["open_loop"]] == [0.25, 0.5, 0.75]
    for level in result["open_loop"]:
        assert level["pending"] == 0
        assert level["latency_ms"]["p50"] <= level["latency_ms"]["p99"] <= level["latency_ms"]["max"]
    # Tracing at 100 % and 10 % of orders, measured like the untraced saturation; spans really were written.
    assert list(result["tracing"]) == ["untraced", "100% traced", "10% traced"]
    for costs in result["tracing"].values():
        assert _positive(costs["total"])
        assert _positive(costs["orders"])
    assert next((tmp_path / "state").rglob("spans-1.0.jsonl")).stat().st_size > 0
    for ceiling in ("bare_fastapi", "raw_produce", "raw_getmany", "producer_performance"):
        assert _positive(result["ceilings"][ceiling]), ceiling
    for stage in ("http_ingest", "relay", "consumer_runtime"):
        assert _positive(result["stages"][stage]), stage
    assert all(_positive(ratio) for ratio in result["ratios"].values())
    assert "orderflow bench on sqlite" in done.stdout
