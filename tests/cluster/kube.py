"""Helpers of the cluster tier: images, Services reached through kube-proxy, pods, and the orderflow CLI.

The machine is the node, so a Service's cluster IP answers from here through kube-proxy's rules (no
port-forward, which would pin one pod and die with it during a rolling update).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from devstack.cluster.build import KUBERNETES
from devstack.cluster.node import Node
from devstack.cluster.platform import Installed
from devstack.images import app_images
from orderflow.demo import DEMO_STOCK, SKUS

ORDERFLOW = Path(sys.executable).with_name("orderflow")


@dataclass(frozen=True)
class Images:
    tag: str
    refs: tuple[str, ...]
    build_seconds: float


def build_images(node: Node, tag: str) -> Images:
    started = time.monotonic()
    refs = app_images.build_all(node.engine, tag, log=print, logs=node.layout.logs)
    support = app_images.build_all(
        node.engine, app_images.POSTGRES_TAG, log=print, logs=node.layout.logs, images=(app_images.POSTGRES,)
    )
    node.engine.load([*refs, *support])
    return Images(tag, tuple(refs), time.monotonic() - started)


def kubectl_json(node: Node, *args: str) -> Any:
    return json.loads(node.kubectl(*args, "-o", "json"))


def service_url(node: Node, installed: Installed, service: str) -> str:
    svc = kubectl_json(node, "-n", installed.namespace, "get", "service", f"{installed.fullname}-{service}")
    return f"http://{svc['spec']['clusterIP']}:8000"


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


def wait_reachable(node: Node, installed: Installed) -> None:
    """Until every Service answers through kube-proxy: `helm --wait` saw the pods Ready, and kube-proxy
    programs a new Service's rules a moment later."""
    for service in ("orders", "inventory", "payments"):
        url = service_url(node, installed, service)
        try:
            # A pod replaced by the test before (or restarted) is back within a few probe periods; 180 s covers a
            # restart's back-off on a busy machine, and a Service still silent then shows why (_why_not).
            what = f"{url} (the {service} Service) answering"
            wait_for(lambda url=url: answers(url), what, timeout=180, interval=0.5)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{_why_not(node, installed, service, url)}") from None


def _why_not(node: Node, installed: Installed, service: str, url: str) -> str:
    """What a failure needs to be understood: the pods, recent warnings, the service's log tail, its /readyz."""
    namespace, deployment = installed.namespace, f"deploy/{installed.fullname}-{service}"
    try:
        readyz = httpx.get(f"{url}/readyz", timeout=5, trust_env=False)
        probe = f"{readyz.status_code} {readyz.text[:500]}"
    except httpx.TransportError as error:
        probe = repr(error)
    parts = [
        node.kubectl("-n", namespace, "get", "pods", "-o", "wide", check=False),
        node.kubectl("-n", namespace, "get", "events", "--field-selector", "type=Warning", check=False)[-3000:],
        log_tail(node, namespace, deployment, 30),
        f"GET {url}/readyz: {probe}",
    ]
    return "\n".join(parts)


def log_tail(node: Node, namespace: str, deployment: str, lines: int) -> str:
    """The last `lines` log lines of every container of `deployment`, at most 4000 characters of them."""
    return node.kubectl("-n", namespace, "logs", deployment, "--all-containers", f"--tail={lines}", check=False)[-4000:]


def pods(node: Node, namespace: str, selector: str = "") -> list[dict[str, Any]]:
    args = ["-n", namespace, "get", "pods", *(["-l", selector] if selector else [])]
    items: list[dict[str, Any]] = kubectl_json(node, *args)["items"]
    return items


def ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def exec_in(node: Node, namespace: str, pod: str, *argv: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    kubectl = [str(KUBERNETES.binary("kubectl")), f"--kubeconfig={node.kubeconfig}", "-n", namespace, "exec", pod]
    return subprocess.run([*kubectl, "--", *argv], capture_output=True, text=True, timeout=60, check=check)


def wait_for(check: Any, what: str, timeout: float = 180.0, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(interval)


def orderflow(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ORDERFLOW), *args], capture_output=True, text=True, timeout=timeout)


def start_load(orders_url: str, count: int, rate: float, seed: int) -> subprocess.Popen[str]:
    argv = [str(ORDERFLOW), "load", "--orders", str(count), "--rate", str(rate), "--url", orders_url]
    argv += ["--concurrency", "8", "--wait-timeout", "180", "--seed", str(seed), "--json"]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_load(load: subprocess.Popen[str], timeout: float = 600) -> dict[str, Any]:
    out, err = load.communicate(timeout=timeout)
    assert load.returncode == 0, f"orderflow load failed ({load.returncode}):\n{out}\n{err[-3000:]}"
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return summary


@dataclass(frozen=True)
class Verified:
    orders: int
    output: str


def verify(node: Node, installed: Installed) -> Verified:
    """`orderflow verify` (every order terminal, net charge = total or 0, reserved = what confirmed orders hold)
    on the three Services, and stock conserved for the SKUs `orderflow load` orders (helm test's own SKUs
    start elsewhere, so --initial-stock would not hold for them)."""
    wait_reachable(node, installed)  # a pod just replaced is Ready a moment before kube-proxy routes to it
    urls = {s: service_url(node, installed, s) for s in ("orders", "inventory", "payments")}
    args = ["--orders-url", urls["orders"], "--inventory-url", urls["inventory"], "--payments-url", urls["payments"]]
    done = orderflow("verify", *args)
    assert done.returncode == 0, f"orderflow verify failed:\n{done.stdout}{done.stderr}"
    with httpx.Client(base_url=urls["inventory"], timeout=10, trust_env=False) as client:
        for sku in SKUS:
            stock = client.get(f"/stock/{sku}").json()
            assert stock["available"] + stock["reserved"] == DEMO_STOCK, stock
    found = re.search(r"^(\d+) orders", done.stdout, re.M)
    assert found is not None, done.stdout
    return Verified(int(found.group(1)), done.stdout.strip())


def delete_topics(bootstrap_servers: str, prefix: str) -> None:
    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        await admin.start()
        try:
            ours = [t for t in await admin.list_topics() if t.startswith(prefix)]
            if ours:
                await admin.delete_topics(ours)
        finally:
            await admin.close()

    try:
        asyncio.run(run())
    except Exception as error:  # the broker may be gone with the node already
        print(f"topics of {prefix} not deleted: {error!r}")
