"""A broker outage: the scaler keeps the replicas, reports Degraded once, backs off, and recovers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from devstack.cluster.controlplane import ControlPlane
from devstack.cluster.crds import install_crds
from devstack.kafka.broker import LocalBroker
from devstack.scalercrd import consumerscaler_crd
from eventkit.settings import KafkaSettings
from eventkit.topics import create_topics
from operators.scaler import metrics
from tests.apiserver.operator_harness import (
    SCALERS,
    Cluster,
    ReplicaWatch,
    commit,
    eventually,
    format_describe,
    produce,
    running_operator,
    scaler,
)
from tests.support.kafka import start_local_broker

pytestmark = [pytest.mark.apiserver, pytest.mark.kafka, pytest.mark.timeout(1200)]


@pytest.fixture
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A broker of this test's own: stopping the session's would break every other Kafka test."""
    broker = start_local_broker(tmp_path_factory.mktemp("kafka"))
    try:
        yield broker
    finally:
        broker.stop()


async def test_broker_outage_keeps_replicas_and_sets_degraded(
    kube_api: ControlPlane, namespace: str, own_broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    with kube_api.client() as client:
        install_crds(client, [consumerscaler_crd()])
    monkeypatch.setenv("KUBECONFIG", str(kube_api.kubeconfig))
    state = own_broker.running()
    assert state is not None
    bootstrap = state.bootstrap_servers
    topic, group = f"outage-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    await create_topics(KafkaSettings(bootstrap_servers=bootstrap), {topic: 4})
    await produce(bootstrap, topic, {p: 50 for p in range(4)})
    await commit(bootstrap, group, topic, {p: 0 for p in range(4)})

    async with kube_api.async_client() as client, running_operator(kube_api, namespace):
        k8s = Cluster(client, namespace)
        await k8s.deployment("inventory", replicas=1)
        await k8s.scaler(scaler("inventory", "inventory", group, bootstrap, topics=[topic], lagPerReplica=100))
        await eventually(lambda: _replicas_are(k8s, "inventory", 2), timeout=90)  # ceil(200 / 100)

        async with ReplicaWatch(k8s, "inventory") as watch:
            # Blocking calls go to a thread: the operator runs on this event loop.
            await asyncio.to_thread(own_broker.stop)
            degraded = await eventually(lambda: _degraded(k8s, "True"), timeout=90)
            assert degraded["reason"] == "KafkaUnavailable"
            assert "keeping 2 replicas" in degraded["message"]
            status = await k8s.status("inventory")
            assert status["desiredReplicas"] == 2
            assert status["reason"] == "KafkaUnavailable"
            # Two more failed polls (the back-off retrying), visible in the operator's own error counter.
            failed = _kafka_errors(namespace)
            await eventually(lambda: _kafka_errors_reach(namespace, failed + 2), timeout=120)
        assert set(watch.samples) == {2}, "replicas changed while Kafka was unreachable"
        warnings = [e for e in await k8s.events("inventory") if e["reason"] == "KafkaUnavailable"]
        assert len(warnings) == 1, "one Warning per degradation, not one per poll"
        assert warnings[0]["type"] == "Warning"
        errors = metrics.REGISTRY.get_sample_value(
            "orderflow_scaler_kafka_errors_total", {"namespace": namespace, "name": "inventory"}
        )
        assert errors is not None
        assert errors >= 1

        body = (await client.get(f"{SCALERS.format(ns=namespace)}/inventory")).json()
        print("\n--- kubectl describe consumerscaler, broker stopped ---")
        print(format_describe(body, await k8s.events("inventory")))

        # The broker comes back on the same address: the shared client reconnects, the scaler recovers.
        await asyncio.to_thread(own_broker.start)
        await eventually(lambda: _degraded(k8s, "False"), timeout=60)
        assert await k8s.replicas("inventory") == 2


def _kafka_errors(namespace: str) -> float:
    labels = {"namespace": namespace, "name": "inventory"}
    return metrics.REGISTRY.get_sample_value("orderflow_scaler_kafka_errors_total", labels) or 0.0


async def _kafka_errors_reach(namespace: str, count: float) -> bool:
    return _kafka_errors(namespace) >= count


async def _replicas_are(k8s: Cluster, name: str, replicas: int) -> bool:
    return await k8s.replicas(name) == replicas


async def _degraded(k8s: Cluster, status: str) -> dict[str, str] | None:
    condition = await k8s.condition("inventory", "Degraded")
    return condition if condition is not None and condition["status"] == status else None
