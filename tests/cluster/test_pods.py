"""Pod-level behaviour of the platform on the real cluster, with load running: the restricted profile holds in
the running pods, readiness takes a pod out of its Service, a consumer pod deleted mid-flow is replaced and its
orders finish, and a rolling update (`helm upgrade` to a new image tag) loses no order and doubles none."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import APP_CHART, Installed, helm, helm_upgrade_argv
from devstack.images import app_images
from tests.cluster.kube import (
    Images,
    exec_in,
    finish_load,
    kubectl_json,
    pods,
    ready,
    seed,
    service_url,
    start_load,
    verify,
    wait_for,
    wait_reachable,
)

pytestmark = [pytest.mark.cluster]


def _pod(cluster: Cluster, installed: Installed, component: str) -> str:
    names = [
        str(p["metadata"]["name"])
        for p in pods(cluster, installed.namespace, f"app.kubernetes.io/component={component}")
        if p["status"]["phase"] == "Running" and not p["metadata"].get("deletionTimestamp")
    ]
    assert len(names) == 1, f"{component}: {names}"
    return names[0]


def _status(cluster: Cluster, installed: Installed, pod: str, *argv: str) -> dict[str, str]:
    """Fields of /proc/1/status of the container's main process, read inside it."""
    done = exec_in(cluster, installed.namespace, pod, *argv, check=True)
    return dict(line.split(":\t", 1) for line in done.stdout.splitlines() if ":\t" in line)


@pytest.mark.parametrize(
    ("component", "uid", "read", "write"),
    [
        *(
            (s, "10001", ["cat", "/proc/1/status"], ["python", "-c", "open('/probe', 'w')"])
            for s in app_images.SERVICES
        ),
        ("postgresql", "999", ["cat", "/proc/1/status"], ["sh", "-c", "echo x > /probe"]),
    ],
)
def test_running_pods_are_non_root_without_capabilities_on_a_read_only_root(
    cluster: Cluster, platform: Installed, component: str, uid: str, read: list[str], write: list[str]
) -> None:
    pod = _pod(cluster, platform, component)
    status = _status(cluster, platform, pod, *read)
    assert status["Uid"].split()[:2] == [uid, uid]
    assert status["Gid"].split()[0] == uid
    assert status["CapEff"].strip() == "0000000000000000"
    assert status["NoNewPrivs"].strip() == "1"
    assert status["Seccomp"].strip() == "2", "RuntimeDefault seccomp filter"
    assert exec_in(cluster, platform.namespace, pod, "id", "-u").stdout.strip() == uid
    denied = exec_in(cluster, platform.namespace, pod, *write)
    assert denied.returncode != 0
    assert "Read-only file system" in denied.stderr


def test_the_operator_pods_are_restricted_too(cluster: Cluster, platform: Installed) -> None:
    operator_pods = [
        p for p in pods(cluster, platform.namespace, "app.kubernetes.io/name=orderflow-operator") if ready(p)
    ]
    assert len(operator_pods) == 2
    pod = operator_pods[0]["metadata"]["name"]
    status = _status(cluster, platform, pod, "cat", "/proc/1/status")
    assert status["Uid"].split()[0] == "10001"
    assert status["CapEff"].strip() == "0000000000000000"
    assert "Read-only file system" in exec_in(cluster, platform.namespace, pod, "python", "-c", "open('/x','w')").stderr


def _ready_endpoints(cluster: Cluster, installed: Installed, service: str) -> list[str]:
    slices = kubectl_json(
        cluster,
        "-n",
        installed.namespace,
        "get",
        "endpointslices",
        "-l",
        f"kubernetes.io/service-name={installed.fullname}-{service}",
    )
    return [
        address
        for s in slices["items"]
        for endpoint in s.get("endpoints") or []
        if (endpoint.get("conditions") or {}).get("ready")
        for address in endpoint["addresses"]
    ]


def _refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=5, trust_env=False)
    except httpx.TransportError:
        return True
    return False


def test_readiness_takes_a_pod_out_of_its_service_and_back(cluster: Cluster, platform: Installed) -> None:
    url = service_url(cluster, platform, "orders")
    ns, postgres = platform.namespace, f"{platform.fullname}-postgresql"
    assert httpx.get(f"{url}/readyz", timeout=5, trust_env=False).status_code == 200
    cluster.kubectl("-n", ns, "scale", f"statefulset/{postgres}", "--replicas=0")
    try:
        # The database is gone: /readyz fails, the kubelet marks the pod unready, the Service stops routing to it.
        wait_for(lambda: not _ready_endpoints(cluster, platform, "orders"), "orders leaving its Service", timeout=120)
        # kube-proxy then rejects connections to the Service (no ready endpoint), within its sync period.
        wait_for(lambda: _refused(f"{url}/orders?limit=1"), "the Service refusing connections", timeout=60)
        assert _pod(cluster, platform, "orders"), "the pod still runs: it is only out of rotation"
    finally:
        cluster.kubectl("-n", ns, "scale", f"statefulset/{postgres}", "--replicas=1")
    wait_for(lambda: _ready_endpoints(cluster, platform, "orders"), "orders back in its Service", timeout=240)
    wait_for(lambda: len(_ready_endpoints(cluster, platform, "inventory")) == 1, "inventory back", timeout=240)
    wait_for(lambda: len(_ready_endpoints(cluster, platform, "payments")) == 1, "payments back", timeout=240)
    # Ready endpoints are back; kube-proxy reprograms each Service a moment later (a cold CI run met the next
    # test's first request to inventory refused).
    wait_reachable(cluster, platform)
    assert httpx.get(f"{url}/orders?limit=1", timeout=10, trust_env=False).status_code == 200


@pytest.mark.parametrize("consumer", ["inventory", "payments"])
def test_a_consumer_pod_deleted_mid_flow_is_replaced_and_its_orders_finish(
    cluster: Cluster, platform: Installed, consumer: str
) -> None:
    seed(cluster, platform)
    before = verify(cluster, platform).orders
    victim = _pod(cluster, platform, consumer)
    url = service_url(cluster, platform, "orders")
    load = start_load(url, count=200, rate=15, seed=11, in_flight=30)
    cluster.kubectl("-n", platform.namespace, "delete", "pod", victim, "--wait=false")
    summary = finish_load(load)
    assert _pod(cluster, platform, consumer) != victim, "the Deployment replaced it"
    assert (summary["accepted"], summary["pending"]) == (200, 0)
    assert summary["confirmed"] + summary["cancelled"] == 200
    assert verify(cluster, platform).orders == before + 200, "no order lost or doubled"


def test_a_rolling_update_under_load_loses_no_order_and_doubles_none(
    cluster: Cluster, platform: Installed, images: Images, capsys: pytest.CaptureFixture[str]
) -> None:
    new_tag = f"{images.tag}-rollout"
    refs = []
    for spec in app_images.IMAGES:
        cluster.engine.docker("tag", spec.ref(images.tag), spec.ref(new_tag))
        refs.append(spec.ref(new_tag))
    cluster.load(refs)
    seed(cluster, platform)
    orders_before = verify(cluster, platform).orders
    before = {p["metadata"]["name"] for p in pods(cluster, platform.namespace, "orderflow.io/service")}
    url = service_url(cluster, platform, "orders")
    load = start_load(url, count=600, rate=12, seed=23, in_flight=30)  # the upgrade starts with orders in flight
    started = time.monotonic()
    settings = {**platform.settings, "defaults.image.tag": new_tag}
    helm(
        cluster,
        *helm_upgrade_argv(platform.release, APP_CHART, platform.namespace, values=platform.values, settings=settings),
    )
    upgraded = time.monotonic() - started
    summary = finish_load(load)
    # helm --wait returns once the new pods are Ready; an old one may still be terminating (preStop, drain).
    after = wait_for(lambda: _replacements(cluster, platform, before), "every old service pod gone", timeout=180)
    assert {c["image"] for p in after for c in p["spec"]["containers"]} == {
        f"orderflow-{s}:{new_tag}" for s in app_images.SERVICES
    }
    checked = verify(cluster, platform)
    with capsys.disabled():
        print(f"\nrolling update in {upgraded:.0f}s during load: {summary}\norderflow verify: {checked.output}")
    assert (summary["accepted"], summary["pending"]) == (600, 0)
    assert summary["confirmed"] + summary["cancelled"] == 600
    assert checked.orders == orders_before + 600, "no order lost or doubled"


def _replacements(cluster: Cluster, platform: Installed, old: set[str]) -> list[dict[str, Any]] | None:
    """The service pods, once none of `old` is left."""
    current = pods(cluster, platform.namespace, "orderflow.io/service")
    return None if old & {p["metadata"]["name"] for p in current} else current
