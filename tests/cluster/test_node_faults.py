"""Node-level faults under load, on a platform of two replicas per service spread over the two workers: the
chart's spread defaults keep a service's replicas on different nodes; a worker stopped (`docker stop`, as a
machine that dies) loses its pods, which come back on the other worker, while the orders go on; `kubectl
drain` of a worker honours the PodDisruptionBudgets. Every order placed ends CONFIRMED or CANCELLED and
`orderflow verify` holds.

PostgreSQL and the broker keep their data on a volume of the node that first ran them (local-path), so a
stateful pod can only come back where its volume is. The install therefore puts them on one worker, the
"keeper" (the other is cordoned while it installs); the stateless replicas spread over both, and the faults hit
the other worker, as a team would keep its databases on nodes it does not recycle.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import Installed, install, uninstall
from devstack.images import app_images
from tests.cluster.kube import (
    Images,
    finish_load,
    pods,
    ready,
    seed,
    service_url,
    start_load,
    verify,
    wait_for,
    wait_reachable,
)

pytestmark = [pytest.mark.cluster, pytest.mark.disruptive, pytest.mark.timeout(1800)]

# Pods leave a lost node after 10 s, not Kubernetes' default 300 s (DefaultTolerationSeconds): how fast a team
# wants its replicas back is its platform's choice, and the chart's tolerations say it.
LEAVE_LOST_NODES = [
    {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
]


@pytest.fixture(scope="module")
def spread(cluster: Cluster, images: Images) -> Iterator[tuple[Installed, str, str]]:
    """(platform, keeper, victim): the stateful pods on the keeper, two replicas of each service on both."""
    keeper, victim = sorted(n.name for n in cluster.nodes() if n.role == "worker")
    namespace = f"nf-{uuid.uuid4().hex[:6]}"
    settings = {"operations.enabled": "true", "defaults.tolerations": json.dumps(LEAVE_LOST_NODES)}
    cluster.kubectl("cordon", victim)
    try:
        installed = install(cluster, namespace=namespace, release="nf", tag=images.tag, build=False, settings=settings)
    finally:
        cluster.kubectl("uncordon", victim)
    two = {**settings, "defaults.replicas": "2"}
    installed = install(cluster, namespace=namespace, release="nf", tag=images.tag, build=False, settings=two)
    try:
        wait_reachable(cluster, installed)
        seed(cluster, installed)
        yield installed, keeper, victim
    finally:
        cluster.kubectl("uncordon", victim, check=False)
        uninstall(cluster, installed)
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def _service_pods(cluster: Cluster, installed: Installed) -> list[dict[str, Any]]:
    return [
        p
        for p in pods(cluster, installed.namespace, "orderflow.io/service")
        if not p["metadata"].get("deletionTimestamp")
    ]


def _nodes_of(cluster: Cluster, installed: Installed) -> dict[str, set[str]]:
    """service -> the nodes its ready pods run on."""
    found: dict[str, set[str]] = {s: set() for s in app_images.SERVICES}
    for pod in _service_pods(cluster, installed):
        if ready(pod):
            found[pod["metadata"]["labels"]["orderflow.io/service"]].add(pod["spec"]["nodeName"])
    return found


def test_the_spread_defaults_keep_each_services_replicas_on_different_nodes(
    cluster: Cluster, spread: tuple[Installed, str, str]
) -> None:
    installed, keeper, victim = spread
    assert _nodes_of(cluster, installed) == {s: {keeper, victim} for s in app_images.SERVICES}
    stateful = pods(cluster, installed.namespace, "app.kubernetes.io/component=postgresql")
    stateful += pods(cluster, installed.namespace, f"strimzi.io/cluster={installed.kafka}")
    assert {p["spec"]["nodeName"] for p in stateful} == {keeper}


def _respread(cluster: Cluster, installed: Installed, keeper: str, victim: str) -> None:
    """Each service with a ready replica on both workers again: where all of a service's pods share a node, one
    is deleted and the scheduler's spread puts its replacement on the other (what the next rollout would do)."""

    def spread_out() -> bool:
        if all(found == {keeper, victim} for found in _nodes_of(cluster, installed).values()):
            return True
        scheduled: dict[str, list[dict[str, Any]]] = {s: [] for s in app_images.SERVICES}
        for pod in _service_pods(cluster, installed):
            scheduled[pod["metadata"]["labels"]["orderflow.io/service"]].append(pod)
        for together in scheduled.values():
            # A replacement still starting counts where it was scheduled, so one pass never deletes both.
            if len({p["spec"].get("nodeName") for p in together}) == 1 and all(ready(p) for p in together):
                cluster.kubectl("-n", installed.namespace, "delete", "pod", together[0]["metadata"]["name"])
        return False

    wait_for(spread_out, "a replica of every service on each worker", timeout=300, interval=5)


def test_draining_a_worker_under_load_honours_the_disruption_budgets(
    cluster: Cluster, spread: tuple[Installed, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    installed, keeper, victim = spread
    _respread(cluster, installed, keeper, victim)
    before = verify(cluster, installed).orders
    url = service_url(cluster, installed, "orders")
    load = start_load(url, count=240, rate=6, seed=53, in_flight=20)
    try:
        drained = cluster.kubectl(
            "drain", victim, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=300s", timeout=330
        )
        summary = finish_load(load, timeout=900)
    finally:
        cluster.kubectl("uncordon", victim)
    budgets = json.loads(cluster.kubectl("-n", installed.namespace, "get", "pdb", "-o", "json"))["items"]
    checked = verify(cluster, installed)
    with capsys.disabled():
        print(f"\ndrained {victim} under load:\n{drained[-1500:]}\n{summary}\n{checked.output}")
    assert {b["spec"].get("maxUnavailable") for b in budgets} == {1}
    assert "evicting pod" in drained
    assert _nodes_of(cluster, installed) == {s: {keeper} for s in app_images.SERVICES}
    assert (summary["accepted"], summary["pending"]) == (240, 0)
    assert checked.orders == before + 240, "no order lost or doubled"


def test_a_worker_stopped_under_load_loses_no_order(
    cluster: Cluster, spread: tuple[Installed, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    installed, keeper, victim = spread
    _respread(cluster, installed, keeper, victim)
    before = verify(cluster, installed).orders
    url = service_url(cluster, installed, "orders")
    load = start_load(url, count=300, rate=6, seed=51, in_flight=30)
    cluster.engine.docker("stop", victim)
    try:
        # Its pods are evicted after their toleration and come back on the keeper.
        wait_for(
            lambda: all(nodes == {keeper} for nodes in _nodes_of(cluster, installed).values()),
            "every service running on the keeper alone",
            timeout=300,
            interval=2,
        )
        moved = _nodes_of(cluster, installed)
        summary = finish_load(load, timeout=900)
    finally:
        cluster.engine.docker("start", victim)
    cluster.kubectl("wait", "--for=condition=Ready", f"node/{victim}", "--timeout=300s", timeout=330)
    wait_reachable(cluster, installed)
    checked = verify(cluster, installed)
    with capsys.disabled():
        print(f"\n{victim} stopped under load; services then on {moved}: {summary}\n{checked.output}")
    assert (summary["accepted"], summary["pending"]) == (300, 0)
    assert summary["confirmed"] + summary["cancelled"] == 300
    assert checked.orders == before + 300, "no order lost or doubled"
