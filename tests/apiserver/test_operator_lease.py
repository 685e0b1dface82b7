"""Two operator replicas never act at once: one Lease, one holder, a prompt hand-over on release."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from devstack.cluster.controlplane import ControlPlane
from devstack.cluster.crds import install_crds
from devstack.scalercrd import consumerscaler_crd
from operators.scaler.leader import LeaseElector
from tests.apiserver.operator_harness import (
    Cluster,
    commit,
    eventually,
    produce,
    running_operator,
    scaler,
    until_leading,
)
from tests.support.clock import FakeClock
from tests.support.kafka import KafkaCluster

pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(1200)]


async def test_only_one_replica_leads_and_the_other_takes_over_after_release(
    kube_api: ControlPlane, namespace: str
) -> None:
    clock = FakeClock()
    async with kube_api.async_client() as http:
        first = LeaseElector(http, namespace, "scaler", "replica-a", duration=3, clock=clock)
        second = LeaseElector(http, namespace, "scaler", "replica-b", duration=3, clock=clock)
        assert await first.try_acquire_or_renew()
        assert not await second.try_acquire_or_renew()
        for _ in range(4):  # the holder keeps renewing; the other keeps waiting, well past one duration
            clock.advance(1)
            assert await first.try_acquire_or_renew()
            assert not await second.try_acquire_or_renew()
        assert first.is_leader
        assert not second.is_leader

        await first.release()
        assert not first.is_leader
        assert await second.try_acquire_or_renew()
        assert second.is_leader
        assert not await first.try_acquire_or_renew()


async def test_a_silent_holder_loses_the_lease_only_after_its_duration(kube_api: ControlPlane, namespace: str) -> None:
    clock = FakeClock()
    async with kube_api.async_client() as http:
        crashed = LeaseElector(http, namespace, "scaler", "crashed", duration=2, clock=clock)
        waiting = LeaseElector(http, namespace, "scaler", "waiting", duration=2, clock=clock)
        assert await crashed.try_acquire_or_renew()
        assert not await waiting.try_acquire_or_renew()
        clock.advance(1)
        assert crashed.is_leader
        assert not await waiting.try_acquire_or_renew()
        # The holder stopped acting on its own a margin (a third of the duration) before anyone may take over.
        clock.advance(0.5)
        assert not crashed.is_leader
        assert not await waiting.try_acquire_or_renew()
        clock.advance(0.6)
        assert await waiting.try_acquire_or_renew()
        assert waiting.term == 1
        # A write race is settled by resourceVersion: the stale holder's renewal is refused.
        assert not await crashed.try_acquire_or_renew()


async def test_an_operator_without_the_lease_does_not_act_until_it_gets_it(
    kube_api: ControlPlane, namespace: str, kafka: KafkaCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    with kube_api.client() as client:
        install_crds(client, [consumerscaler_crd()])
    monkeypatch.setenv("KUBECONFIG", str(kube_api.kubeconfig))
    topic, group = await kafka.create_topic(partitions=4), f"g-{uuid.uuid4().hex[:8]}"
    await produce(kafka.bootstrap_servers, topic, {p: 100 for p in range(4)})
    await commit(kafka.bootstrap_servers, group, topic, {p: 0 for p in range(4)})
    async with kube_api.async_client() as http:
        # Another replica holds the Lease and keeps renewing it.
        other = LeaseElector(http, namespace, "orderflow-scaler", "other-replica", duration=6)
        renewing = asyncio.create_task(other.run())
        await until_leading(kube_api, namespace, "orderflow-scaler", "other-replica")
        async with running_operator(kube_api, namespace, identity="standby", lead=False):
            k8s = Cluster(http, namespace)
            await k8s.deployment("orders", replicas=1)
            await k8s.scaler(scaler("orders", "orders", group, kafka.bootstrap_servers, topics=[topic]))
            # The holder renews twice meanwhile; the standby, ticking every second, keeps its hands off.
            await renewals(http, namespace, "orderflow-scaler", 2)
            assert await k8s.replicas("orders") == 1, "the standby scaled"
            assert "lastPollTime" not in await k8s.status("orders")

            renewing.cancel()
            await other.release()
            await until_leading(kube_api, namespace, "orderflow-scaler", "standby")
            await eventually(lambda: _replicas_are(k8s, "orders", 4), timeout=90)  # ceil(400 / 100)


async def _replicas_are(k8s: Cluster, name: str, replicas: int) -> bool:
    return await k8s.replicas(name) == replicas


async def renewals(http: httpx.AsyncClient, namespace: str, name: str, count: int) -> None:
    """Until the Lease's renewTime changed `count` times: its holder is alive and others had time to contend."""
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"
    seen: set[str] = set()

    async def renewed() -> bool | None:
        seen.add((await http.get(path)).json()["spec"]["renewTime"])
        return True if len(seen) > count else None

    await eventually(renewed, timeout=60)
