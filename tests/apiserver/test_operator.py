"""The ConsumerScaler operator against the real API server and the real broker, run in-process."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from typer.testing import CliRunner

from devstack.cluster.controlplane import ControlPlane
from devstack.cluster.crds import install_crds
from devstack.processes import free_port
from devstack.scalercrd import consumerscaler_crd
from operators.scaler import metrics
from operators.scaler.clients import ClientPool
from operators.scaler.connection import KafkaConnection
from orderflow.cli import app
from tests.apiserver.operator_harness import (
    SCALERS,
    Cluster,
    ReplicaWatch,
    after_polls,
    commit,
    eventually,
    format_describe,
    format_table,
    produce,
    running_operator,
    scaler,
)
from tests.support.kafka import KafkaCluster

pytestmark = [pytest.mark.apiserver, pytest.mark.kafka, pytest.mark.timeout(1200)]

POLL = 1.0


@pytest.fixture
def cluster_env(kube_api: ControlPlane, monkeypatch: pytest.MonkeyPatch) -> ControlPlane:
    """The CRD installed, and $KUBECONFIG pointing at the test API server (kopf logs in with it)."""
    with kube_api.client() as client:
        install_crds(client, [consumerscaler_crd()])
    monkeypatch.setenv("KUBECONFIG", str(kube_api.kubeconfig))
    return kube_api


def group_name() -> str:
    return f"g-{uuid.uuid4().hex[:8]}"


async def test_backlog_scales_up_to_partitions_then_down_to_zero_after_the_window(
    cluster_env: ControlPlane, namespace: str, kafka: KafkaCluster
) -> None:
    topic = await kafka.create_topic(partitions=6)
    group = group_name()
    produced = {p: 20 * (p + 1) for p in range(6)}
    committed = {p: 3 * p for p in range(6)}
    await produce(kafka.bootstrap_servers, topic, produced)
    await commit(kafka.bootstrap_servers, group, topic, committed)
    window = 5
    body = scaler(
        "orders-consumer",
        "consumer",
        group,
        kafka.bootstrap_servers,
        topics=[topic],
        lagPerReplica=10,  # lag 375 asks for 38 replicas: capped at 6 partitions, below maxReplicas 20
        activationLag=5,
        minReplicas=0,
        maxReplicas=20,
        scaleUp={"stabilizationSeconds": 0, "maxStep": 10},
        scaleDown={"stabilizationSeconds": window, "maxStep": 10},
    )
    async with cluster_env.async_client() as client, running_operator(cluster_env, namespace):
        k8s = Cluster(client, namespace)
        await k8s.deployment("consumer", replicas=1)
        async with ReplicaWatch(k8s, "consumer") as watch:
            await k8s.scaler(body)
            await eventually(lambda: _replicas_are(k8s, "consumer", 6), timeout=60)

            status = await eventually(lambda: _with_desired(k8s, "orders-consumer", 6), timeout=5)
            expected = {p: produced[p] - committed[p] for p in range(6)}
            assert {p["partition"]: p["lag"] for p in status["partitions"]} == expected
            assert all(p["source"] == "committed" and p["topic"] == topic for p in status["partitions"])
            assert status["lag"] == sum(expected.values())
            assert status["currentReplicas"] == 6
            assert status["target"] == "Deployment/consumer"
            assert status["observedGeneration"] == 1
            assert status["reason"] == "CappedAtPartitions"
            assert "lastScaleTime" in status
            conditions = {c["type"]: c for c in status["conditions"]}
            assert conditions["Ready"]["status"] == "True"
            assert conditions["Active"]["status"] == "True"
            assert conditions["Degraded"]["status"] == "False"

            print("\n--- kubectl get consumerscalers / describe, while scaled up ---")
            print(format_table(await k8s.table(SCALERS)))
            body = (await client.get(f"{SCALERS.format(ns=namespace)}/orders-consumer")).json()
            print(format_describe(body, await k8s.events("orders-consumer")))
            # The group catches up: lag 0, below activationLag, no inflow -> 0 replicas, but only after the window.
            await commit(kafka.bootstrap_servers, group, topic, produced)
            consumed_at = time.monotonic()
            await eventually(lambda: _lag_is(k8s, "orders-consumer", 0), timeout=60)
            await eventually(lambda: _replicas_are(k8s, "consumer", 0), timeout=60)
            # Never before the stabilization window (less one poll of measuring slack) has passed.
            assert time.monotonic() - consumed_at >= window - POLL, "scaled down before the stabilization window"
        assert max(watch.samples) == 6, "never beyond the partition count"

        # /scale is patched within the poll; the status patch follows when the kopf handler returns.
        status = await eventually(lambda: _with_desired(k8s, "orders-consumer", 0), timeout=5)
        assert {c["type"]: c["status"] for c in status["conditions"]}["Active"] == "False"
        scaled = [e for e in await k8s.events("orders-consumer") if e["reason"] == "Scaled"]
        messages = [e["message"] for e in scaled]
        # Straight to the partition count in one decision, not step by step.
        assert [m for m in messages if "from 1 to" in m] == [next(m for m in messages if "from 1 to 6" in m)], messages
        assert any("from 6 to 0" in m for m in messages), messages
        assert all(e["type"] == "Normal" and e["source"]["component"] == "orderflow-scaler" for e in scaled)

        table = await k8s.table(SCALERS)
        columns = [c["name"] for c in table["columnDefinitions"]]
        row = dict(zip(columns, table["rows"][0]["cells"], strict=True))
        assert row["Target"] == "Deployment/consumer"
        assert (row["Lag"], row["Replicas"], row["Desired"], row["Ready"]) == (0, 0, 0, "True")
        print("--- kubectl get consumerscalers / describe, after the window ---")
        print(format_table(table))
        body = (await client.get(f"{SCALERS.format(ns=namespace)}/orders-consumer")).json()
        print(format_describe(body, await k8s.events("orders-consumer")))

    lag_sample = metrics.REGISTRY.get_sample_value(
        "orderflow_scaler_partition_lag",
        {"namespace": namespace, "name": "orders-consumer", "topic": topic, "partition": "5"},
    )
    assert lag_sample == 0
    decisions = metrics.REGISTRY.get_sample_value(
        "orderflow_scaler_scale_events_total", {"namespace": namespace, "name": "orders-consumer", "direction": "up"}
    )
    assert decisions == 1


async def test_groups_without_commits_follow_offset_reset_policy_from_the_log_start(
    cluster_env: ControlPlane, namespace: str, kafka: KafkaCluster
) -> None:
    topic = await kafka.create_topic(partitions=3)
    await produce(kafka.bootstrap_servers, topic, {0: 30, 1: 10, 2: 0})
    # Retention (here: deleteRecords) moved partition 0's log start to 25: those records are gone, not lag.
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(before_offset=25)})
    finally:
        await admin.close()
    common = {"topics": [topic], "lagPerReplica": 5, "minReplicas": 1, "maxReplicas": 10}
    async with cluster_env.async_client() as client, running_operator(cluster_env, namespace):
        k8s = Cluster(client, namespace)
        for name in ("earliest", "latest"):
            await k8s.deployment(name, replicas=1)
            await k8s.scaler(
                scaler(name, name, group_name(), kafka.bootstrap_servers, offsetResetPolicy=name, **common)
            )
        # ceil(15 / 5) = 3 (not ceil(40 / 5)), capped at the 2 partitions that hold lag: a third consumer would idle.
        earliest = await eventually(lambda: _with_desired(k8s, "earliest", 2), timeout=90)
        assert {p["partition"]: (p["lag"], p["source"]) for p in earliest["partitions"]} == {
            0: (5, "earliest"),
            1: (10, "earliest"),
            2: (0, "earliest"),
        }
        assert earliest["reason"] == "LaggingPartitions"
        assert await k8s.replicas("earliest") == 2
        latest = await eventually(lambda: _polled(k8s, "latest"), timeout=90)
        assert latest["lag"] == 0
        assert latest["desiredReplicas"] == 1
        assert {p["source"] for p in latest["partitions"]} == {"latest"}
        assert await k8s.replicas("latest") == 1


async def test_no_topics_and_no_commits_measures_nothing_and_holds(
    cluster_env: ControlPlane, namespace: str, kafka: KafkaCluster
) -> None:
    await produce(kafka.bootstrap_servers, await kafka.create_topic(partitions=2), {0: 50, 1: 50})
    async with cluster_env.async_client() as client, running_operator(cluster_env, namespace):
        k8s = Cluster(client, namespace)
        await k8s.deployment("idle", replicas=2)
        await k8s.scaler(scaler("idle", "idle", group_name(), kafka.bootstrap_servers, lagPerReplica=1))
        ready = await eventually(lambda: _condition_reason(k8s, "idle", "Ready", "NoTopics"), timeout=90)
        assert ready["status"] == "False"
        await after_polls(namespace, "idle")
        assert await k8s.replicas("idle") == 2


async def test_an_hpa_on_the_same_target_blocks_scaling_with_a_condition(
    cluster_env: ControlPlane, namespace: str, kafka: KafkaCluster
) -> None:
    topic = await kafka.create_topic(partitions=4)
    group = group_name()
    await produce(kafka.bootstrap_servers, topic, {p: 50 for p in range(4)})
    await commit(kafka.bootstrap_servers, group, topic, {p: 0 for p in range(4)})
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "cpu"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "payments"},
            "minReplicas": 1,
            "maxReplicas": 3,
        },
    }
    async with cluster_env.async_client() as client, running_operator(cluster_env, namespace):
        k8s = Cluster(client, namespace)
        await k8s.deployment("payments", replicas=1)
        await k8s.create("/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers", hpa)
        await k8s.scaler(scaler("payments", "payments", group, kafka.bootstrap_servers, topics=[topic]))
        ready = await eventually(lambda: _condition_reason(k8s, "payments", "Ready", "HPAConflict"), timeout=90)
        assert ready["status"] == "False"
        assert "HorizontalPodAutoscaler cpu" in ready["message"]
        await after_polls(namespace, "payments", 3)
        assert await k8s.replicas("payments") == 1
        warnings = [e for e in await k8s.events("payments") if e["reason"] == "HPAConflict"]
        assert len(warnings) == 1
        assert warnings[0]["type"] == "Warning"

        # Once the HPA is gone the scaler takes over.
        await client.delete(f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/cpu")
        await eventually(lambda: _replicas_are(k8s, "payments", 2), timeout=90)  # ceil(200 / 100)


async def _replicas_are(k8s: Cluster, name: str, replicas: int) -> bool:
    return await k8s.replicas(name) == replicas


async def _polled(k8s: Cluster, name: str) -> dict[str, Any] | None:
    status = await k8s.status(name)
    return status if "lastPollTime" in status else None


async def _with_desired(k8s: Cluster, name: str, desired: int) -> dict[str, Any] | None:
    status = await k8s.status(name)
    return status if status.get("desiredReplicas") == desired and "partitions" in status else None


async def _lag_is(k8s: Cluster, name: str, lag: int) -> bool:
    return (await k8s.status(name)).get("lag") == lag


async def _condition_reason(k8s: Cluster, name: str, kind: str, reason: str) -> dict[str, str] | None:
    condition = await k8s.condition(name, kind)
    return condition if condition is not None and condition.get("reason") == reason else None


async def test_orderflow_lag_prints_what_the_operator_computes(
    kafka: KafkaCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, group = await kafka.create_topic(partitions=2), group_name()
    await produce(kafka.bootstrap_servers, topic, {0: 5, 1: 7})
    await commit(kafka.bootstrap_servers, group, topic, {0: 2})
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    args = ["lag", "--group", group, "--topic", topic, "--offset-reset-policy", "earliest"]
    # The command runs its own event loop: off this one.
    result = await asyncio.to_thread(CliRunner().invoke, app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["lag"] == 10
    assert [(p["partition"], p["lag"], p["source"]) for p in document["partitions"]] == [
        (0, 3, "committed"),
        (1, 7, "earliest"),
    ]
    table = await asyncio.to_thread(CliRunner().invoke, app, args)
    assert f"group {group}: lag 10" in table.output
    print(table.output)


async def test_scalers_on_one_cluster_share_one_client(kafka: KafkaCluster) -> None:
    pool = ClientPool(request_timeout=5)
    try:
        first = await pool.get(KafkaConnection(kafka.bootstrap_servers))
        assert await pool.get(KafkaConnection(kafka.bootstrap_servers)) is first
        assert len(pool) == 1
    finally:
        await pool.close()


async def test_a_strimzi_reference_resolves_to_the_listener_address_in_the_kafka_status(
    cluster_env: ControlPlane, namespace: str, kafka: KafkaCluster
) -> None:
    topic, group = await kafka.create_topic(partitions=3), group_name()
    await produce(kafka.bootstrap_servers, topic, {p: 100 for p in range(3)})
    await commit(kafka.bootstrap_servers, group, topic, {p: 0 for p in range(3)})
    strimzi_kafka = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "Kafka",
        "metadata": {"name": "orderflow"},
        "spec": {"kafka": {"listeners": [{"name": "plain", "port": 9092, "type": "internal", "tls": False}]}},
    }
    # Strimzi's cluster operator would publish the address; here the test does, pointing at the real broker.
    listeners = [{"name": "plain", "bootstrapServers": kafka.bootstrap_servers}]
    async with cluster_env.async_client() as client, running_operator(cluster_env, namespace):
        k8s = Cluster(client, namespace)
        await k8s.create("/apis/kafka.strimzi.io/v1/namespaces/{ns}/kafkas", strimzi_kafka)
        response = await client.patch(
            f"/apis/kafka.strimzi.io/v1/namespaces/{namespace}/kafkas/orderflow/status",
            json={"status": {"listeners": listeners}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert response.is_success, response.text
        await k8s.deployment("strimzi", replicas=1)
        body = scaler("strimzi", "strimzi", group, "unused", topics=[topic], lagPerReplica=100)
        del body["spec"]["bootstrapServers"]
        body["spec"]["strimzi"] = {"cluster": "orderflow", "listener": "plain"}
        await k8s.scaler(body)
        await eventually(lambda: _replicas_are(k8s, "strimzi", 3), timeout=90)  # ceil(300 / 100)

        # A listener the Kafka does not have: Degraded with the reason, replicas kept.
        patch = {"spec": {"strimzi": {"listener": "external"}}}
        await client.patch(
            f"{SCALERS.format(ns=namespace)}/strimzi",
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
        )
        degraded = await eventually(lambda: _condition_reason(k8s, "strimzi", "Degraded", "KafkaUnavailable"), 10)
        assert "no listener 'external'" in degraded["message"]
        assert await k8s.replicas("strimzi") == 3


async def test_a_paused_scaler_leaves_the_replicas_alone(
    cluster_env: ControlPlane, namespace: str, kafka: KafkaCluster
) -> None:
    topic, group = await kafka.create_topic(partitions=2), group_name()
    await produce(kafka.bootstrap_servers, topic, {0: 500, 1: 500})
    port = free_port()
    async with cluster_env.async_client() as client, running_operator(cluster_env, namespace, metrics_port=port):
        k8s = Cluster(client, namespace)
        await k8s.deployment("paused", replicas=1)
        spec = {"topics": [topic], "offsetResetPolicy": "earliest", "paused": True}
        await k8s.scaler(scaler("paused", "paused", group, kafka.bootstrap_servers, **spec))
        await eventually(lambda: _condition_reason(k8s, "paused", "Ready", "Paused"), timeout=90)
        await after_polls(namespace, "paused")
        assert await k8s.replicas("paused") == 1
        # The endpoint the chart's metrics Service points at.
        async with httpx.AsyncClient(trust_env=False) as http:
            scraped = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        assert "orderflow_scaler_leader 1.0" in scraped


async def test_a_missing_topic_degrades_and_is_not_created(
    cluster_env: ControlPlane, namespace: str, kafka: KafkaCluster
) -> None:
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    async with cluster_env.async_client() as client, running_operator(cluster_env, namespace):
        k8s = Cluster(client, namespace)
        await k8s.deployment("typo", replicas=2)
        await k8s.scaler(scaler("typo", "typo", group_name(), kafka.bootstrap_servers, topics=[missing]))
        degraded = await eventually(lambda: _condition_reason(k8s, "typo", "Degraded", "KafkaUnavailable"), 10)
        assert missing in degraded["message"]
        assert await k8s.replicas("typo") == 2
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        assert missing not in await admin.list_topics()
    finally:
        await admin.close()
