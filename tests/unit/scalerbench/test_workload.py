"""The bench's objects come from the configurations the simulation models, field by field."""

from __future__ import annotations

from dataclasses import replace

import pytest

from devstack.scalerbench import keda, report, run, workload
from devstack.scalerbench.compare import METRICS, Summary, our_spec
from devstack.scalerbench.traces import Trace, traces


def test_a_scaled_object_says_what_the_keda_model_assumes() -> None:
    config = keda.tuned(100, 12)
    found = workload.scaled_object(config, "keda-tuned", "ns", bootstrap="10.0.0.1:9092", group="g", topic="t")
    spec = found["spec"]
    assert (spec["pollingInterval"], spec["cooldownPeriod"]) == (10, 60)
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (0, 12)
    [trigger] = spec["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"] == {
        "bootstrapServers": "10.0.0.1:9092",
        "consumerGroup": "g",
        "topic": "t",
        "lagThreshold": "100",
        "activationLagThreshold": "1",
        "offsetResetPolicy": "latest",
    }
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleUp"] == {
        "stabilizationWindowSeconds": 0,
        "policies": [{"type": "Pods", "value": 12, "periodSeconds": 15}],
    }
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 300


def _trigger(config: keda.KedaConfig) -> dict[str, str]:
    found = workload.scaled_object(config, "keda-best", "ns", bootstrap="b:1", group="g", topic="t")
    [trigger] = found["spec"]["triggers"]
    metadata: dict[str, str] = trigger["metadata"]
    return metadata


def test_keda_best_renders_its_options_as_strings_beside_tuneds_metadata() -> None:
    tuned = _trigger(keda.tuned(100, 12))
    hot = _trigger(keda.best("hot-partition", 100, 12))
    assert hot == {**tuned, "limitToPartitionsWithLag": "true"}
    idle = _trigger(keda.best("idle-markers", 100, 12))
    assert idle == {**tuned, "excludePersistentLag": "true", "ensureEvenDistributionOfPartitions": "true"}
    # An option left at KEDA's default (false) is not written at all.
    assert not {"allowIdleConsumers", "scaleToZeroOnInvalidOffset"} & set(idle)


def test_every_scaled_object_carries_only_string_metadata() -> None:
    for config in (keda.defaults(100, 12), keda.tuned(100, 12), keda.best("burst", 100, 12)):
        assert all(isinstance(value, str) for value in _trigger(config).values())


def test_the_bench_runs_keda_best_beside_the_others() -> None:
    assert run.CONTENDERS == ("ours", "keda", "keda-tuned", "keda-best")


@pytest.mark.parametrize("trace", traces(), ids=lambda t: t.name)
def test_the_bench_configures_each_keda_for_the_trace(trace: Trace) -> None:
    best, tuned = run.keda_config("keda-best", trace), run.keda_config("keda-tuned", trace)
    assert best.offset_reset_policy == tuned.offset_reset_policy == trace.reset
    assert replace(best, offset_reset_policy="latest") == keda.best(trace.name, 100, run.MAX_REPLICAS)
    assert replace(tuned, offset_reset_policy="latest") == keda.tuned(100, run.MAX_REPLICAS)
    assert run.keda_config("keda", trace).offset_reset_policy == trace.reset
    with pytest.raises(ValueError, match="no KEDA contender ours"):
        run.keda_config("ours", trace)


def test_kedas_defaults_leave_the_hpa_behaviour_unset() -> None:
    found = workload.scaled_object(keda.defaults(100, 12), "keda", "ns", bootstrap="b:1", group="g", topic="t")
    assert "advanced" not in found["spec"]
    assert (found["spec"]["pollingInterval"], found["spec"]["cooldownPeriod"]) == (30, 300)


def test_a_consumer_scaler_carries_the_spec_in_the_crds_spelling() -> None:
    spec = our_spec(maxReplicas=12, topics=["t"])
    found = workload.consumer_scaler(spec, "ours", "ns")
    assert found["kind"] == "ConsumerScaler"
    assert found["spec"]["lagPerReplica"] == 100
    assert found["spec"]["scaleDown"] == {"stabilizationSeconds": 60, "maxStep": 100}
    assert found["spec"]["topics"] == ["t"]


def test_every_contender_runs_the_same_pods() -> None:
    pods = [
        workload.consumer_deployment(n, "ns", replicas=1, bootstrap="b:1", group=n, topic=n, rate=50, reset="earliest")
        for n in ("ours", "keda")
    ]
    [first], [second] = (p["spec"]["template"]["spec"]["containers"] for p in pods)
    assert first["image"] == second["image"] == workload.IMAGE
    assert {e["name"]: e["value"] for e in first["env"]}["BENCH_RATE"] == "50"


def _summary(trace: str, scaler: str, **median: float | None) -> Summary:
    values = {m: median.get(m, 1.0) for m in METRICS}
    return Summary(trace, scaler, 3, values, values, values)


def test_the_goals_compare_medians_with_tuned_and_best_keda() -> None:
    summaries = [
        _summary("burst", "ours", time_to_drain=20, replica_seconds=900),
        _summary("burst", "keda-tuned", time_to_drain=50, replica_seconds=1000),
        _summary("burst", "keda-best", time_to_drain=25, replica_seconds=800),
        _summary("ramp", "ours", replica_seconds=1100, scale_events=9, rebalances=9, time_to_drain=2, peak_lag=2),
        _summary("ramp", "keda-tuned", replica_seconds=1000, scale_events=3, rebalances=3),
        _summary("ramp", "keda-best", replica_seconds=1200, scale_events=9, rebalances=9),
    ]
    found = {goal: (met, figures) for goal, met, figures in report.goals(summaries)}
    assert found["burst time to drain within 15% of the pods' bound"] == (True, "20 s (bound 25 s)")
    assert found["vs keda-tuned: time to drain <= 1.0x on every trace"] == (False, "burst 0.40x, ramp 2.00x")
    assert found["vs keda-tuned: replica-seconds <= 1.0x on every trace"] == (False, "burst 0.90x, ramp 1.10x")
    assert found["vs keda-tuned: scale events + rebalances <= 1.0x on every trace"][0] is False
    assert found["vs keda-tuned: no trace where KEDA wins on every metric"] == (False, "ramp")
    assert found["vs keda-best: time to drain <= 1.0x on every trace"] == (False, "burst 0.80x, ramp 2.00x")
    assert found["vs keda-best: replica-seconds <= 1.0x on every trace"] == (False, "burst 1.12x, ramp 0.92x")
    assert found["vs keda-best: scale events + rebalances <= 1.0x on every trace"] == (True, "burst 1.00x, ramp 1.00x")
    assert found["vs keda-best: no trace where KEDA wins on every metric"] == (True, "none")


def test_never_is_worse_than_any_figure() -> None:
    assert report.ratio(None, 30) == float("inf")
    assert report.ratio(30, None) == 0.0
    assert report.ratio(None, None) == 1.0
    assert report.ratio(0, 0) == 1.0
