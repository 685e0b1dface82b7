"""The simulated comparison, reported whole: each metric of each trace against tuned and best KEDA, wins and
losses."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from typer.testing import CliRunner

from devstack.scalerbench import keda
from devstack.scalerbench.compare import LAG_PER_REPLICA, MAX_REPLICAS, METRICS, Ours, Summary, compare, contenders
from devstack.scalerbench.simulate import GroupView, Trace, World, run, traces
from orderflow.cli import app

# Ours against tuned KEDA, medians over 30 seeded phases (docs/scaler.md's table): "<" ours lower
# (better), ">" higher, "=" equal. Where KEDA is better it says so here too: a change to the policy or the
# model shows up as a changed line.
AGAINST_TUNED_KEDA = {
    "burst": {"time_to_drain": "<", "peak_lag": "=", "replica_seconds": "<", "scale_events": "=", "rebalances": "="},
    "ramp": {"time_to_drain": "=", "peak_lag": "<", "replica_seconds": "<", "scale_events": "=", "rebalances": "="},
    "sine": {"time_to_drain": "=", "peak_lag": "<", "replica_seconds": "<", "scale_events": ">", "rebalances": ">"},
    "hot-partition": {
        "time_to_drain": ">",
        "peak_lag": "<",
        "replica_seconds": "<",
        "scale_events": ">",
        "rebalances": ">",
    },
    "new-group": {
        "time_to_drain": "=",
        "peak_lag": ">",
        "replica_seconds": "<",
        "scale_events": "<",
        "rebalances": "<",
    },
    "broker-restart": {
        "time_to_drain": "=",
        "peak_lag": "=",
        "replica_seconds": "<",
        "scale_events": ">",
        "rebalances": ">",
    },
    "idle-markers": {
        "time_to_drain": "=",
        "peak_lag": "=",
        "replica_seconds": ">",
        "scale_events": "=",
        "rebalances": "=",
    },
}

# Ours against KEDA at its best (tuned plus the trigger options for the trace, keda.best), the same way.
AGAINST_BEST_KEDA = {
    "burst": {"time_to_drain": "<", "peak_lag": "=", "replica_seconds": "<", "scale_events": "=", "rebalances": "="},
    "ramp": {"time_to_drain": "=", "peak_lag": ">", "replica_seconds": "<", "scale_events": ">", "rebalances": ">"},
    "sine": {"time_to_drain": "=", "peak_lag": "<", "replica_seconds": "<", "scale_events": ">", "rebalances": ">"},
    "hot-partition": {
        "time_to_drain": "=",
        "peak_lag": "<",
        "replica_seconds": ">",
        "scale_events": "=",
        "rebalances": "=",
    },
    "new-group": {
        "time_to_drain": "=",
        "peak_lag": ">",
        "replica_seconds": "<",
        "scale_events": "=",
        "rebalances": "=",
    },
    "broker-restart": {
        "time_to_drain": "=",
        "peak_lag": "=",
        "replica_seconds": "<",
        "scale_events": ">",
        "rebalances": ">",
    },
    "idle-markers": {
        "time_to_drain": "=",
        "peak_lag": "=",
        "replica_seconds": ">",
        "scale_events": "=",
        "rebalances": "=",
    },
}


# As many phases as the CLI's default, so the relations are those of docs/scaler.md's table.
RUNS = 30


@pytest.fixture(scope="module")
def summaries() -> list[Summary]:
    return compare(runs=RUNS)


def _by(summaries: Sequence[Summary], trace: str, scaler: str) -> Summary:
    return next(s for s in summaries if s.trace == trace and s.scaler == scaler)


def _relation(ours: float | None, theirs: float | None) -> str:
    a, b = (float("inf") if v is None else v for v in (ours, theirs))
    return "<" if a < b else ">" if a > b else "="


@pytest.mark.parametrize("trace", sorted(AGAINST_TUNED_KEDA))
def test_every_metric_against_tuned_keda_is_what_the_docs_report(summaries: list[Summary], trace: str) -> None:
    ours, keda = _by(summaries, trace, "ours"), _by(summaries, trace, "keda-tuned")
    measured = {m: _relation(ours.median[m], keda.median[m]) for m in METRICS}
    assert measured == AGAINST_TUNED_KEDA[trace]


@pytest.mark.parametrize("trace", sorted(AGAINST_BEST_KEDA))
def test_every_metric_against_the_best_keda_is_what_the_docs_report(summaries: list[Summary], trace: str) -> None:
    ours, keda_best = _by(summaries, trace, "ours"), _by(summaries, trace, "keda-best")
    measured = {m: _relation(ours.median[m], keda_best.median[m]) for m in METRICS}
    assert measured == AGAINST_BEST_KEDA[trace]


def test_keda_best_runs_each_trace_with_that_traces_options() -> None:
    for trace in traces():
        scaler = contenders()["keda-best"](random.Random(0), trace)
        assert isinstance(scaler, keda.KedaHpa)
        assert scaler.config == keda.best(trace.name, LAG_PER_REPLICA, MAX_REPLICAS)


def test_the_limit_to_partitions_with_lag_saves_the_hot_partitions_idle_replicas(summaries: list[Summary]) -> None:
    best, tuned = _by(summaries, "hot-partition", "keda-best"), _by(summaries, "hot-partition", "keda-tuned")
    assert (best.median["replica_seconds"] or 0) < 0.7 * (tuned.median["replica_seconds"] or 0)


def test_kedas_defaults_keep_a_replica_forever_for_a_transaction_marker(summaries: list[Summary]) -> None:
    assert _by(summaries, "idle-markers", "keda").median["replica_seconds"] == 1800


def test_every_run_reports_every_metric_with_its_spread(summaries: list[Summary]) -> None:
    for summary in summaries:
        assert summary.runs == RUNS
        assert set(summary.median) == set(METRICS)
        for metric in METRICS:
            low, median, high = summary.low[metric], summary.median[metric], summary.high[metric]
            if low is not None and median is not None and high is not None:
                assert low <= median <= high


@dataclass
class Recording(Ours):
    wanted: list[int] = field(default_factory=list)

    def step(self, t: int, view: GroupView) -> int | None:
        result = super().step(t, view)
        if result is not None:
            self.wanted.append(result)
        return result


def test_our_policy_never_exceeds_the_partitions() -> None:
    scaler = Recording()
    run(Trace("flood", "", 300, lambda t: 50.0, load_ends=300), scaler, World(partitions=6))  # 50 pods' worth
    assert max(scaler.wanted) == 6


def test_compare_command_prints_the_table_and_json() -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["scaler", "compare", "--runs", "2"])
    assert table.exit_code == 0, table.output
    assert "keda-tuned" in table.output
    assert "keda-best" in table.output
    assert "hot-partition" in table.output
    assert 'limitToPartitionsWithLag: "true"' in table.output
    document = json.loads(runner.invoke(app, ["scaler", "compare", "--runs", "2", "--json"]).output)
    assert {r["scaler"] for r in document["results"]} == {"ours", "keda", "keda-tuned", "keda-best"}
    assert set(document["results"][0]["median"]) == set(METRICS)
    assert document["keda_best_options"]["hot-partition"] == {"limitToPartitionsWithLag": "true"}
    assert set(document["keda_best_options"]) == set(document["traces"])
