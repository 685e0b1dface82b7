"""The bench's objects come from the configurations the simulation models, field by field."""

from __future__ import annotations

from devstack.scalerbench import keda, report, workload
from devstack.scalerbench.compare import METRICS, Summary, our_spec


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


def test_the_goals_compare_medians_with_tuned_keda() -> None:
    summaries = [
        _summary("burst", "ours", time_to_drain=20, replica_seconds=900),
        _summary("burst", "keda-tuned", time_to_drain=50, replica_seconds=1000),
        _summary("ramp", "ours", replica_seconds=1100, scale_events=9, rebalances=9, time_to_drain=2, peak_lag=2),
        _summary("ramp", "keda-tuned", replica_seconds=1000, scale_events=3, rebalances=3),
    ]
    found = {goal: (met, figures) for goal, met, figures in report.goals(summaries)}
    assert found["burst time to drain <= 0.5x"] == (True, "0.40x")
    assert found["replica-seconds <= 1.0x on every trace"] == (False, "burst 0.90x, ramp 1.10x")
    assert found["scale events + rebalances <= 1.0x on every trace"][0] is False
    assert found["no trace where KEDA wins on every metric"] == (False, "ramp")


def test_never_is_worse_than_any_figure() -> None:
    assert report.ratio(None, 30) == float("inf")
    assert report.ratio(30, None) == 0.0
    assert report.ratio(None, None) == 1.0
    assert report.ratio(0, 0) == 1.0
