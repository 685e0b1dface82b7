"""Helpers of the cluster tier: images, Services reached from the machine, pods, and the orderflow CLI.

From the machine only what the chart exposes answers: the orders API (`exposed: true`) on its cluster IP, routed
through the control plane's kube-proxy (no port-forward, which would pin one pod and die with it during a rolling
update). Inventory, payments, PostgreSQL and Kafka admit only pods of the release (the chart's NetworkPolicies,
enforced by kube-router), so what needs them runs inside the release: `orderflow` in the operations toolbox pod
(`operations.enabled`, its `kubectl exec` is the on-call way in).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import Installed
from devstack.cluster.tools import KUBERNETES
from devstack.images import app_images
from orderflow.demo import DEMO_STOCK, SKUS

ORDERFLOW = Path(sys.executable).with_name("orderflow")


@dataclass(frozen=True)
class Images:
    tag: str
    refs: tuple[str, ...]
    build_seconds: float


def build_images(cluster: Cluster, tag: str) -> Images:
    began = time.monotonic()
    refs = app_images.build_all(cluster.engine, tag, log=print, logs=cluster.logs)
    support = app_images.build_all(
        cluster.engine, app_images.POSTGRES_TAG, log=print, logs=cluster.logs, images=(app_images.POSTGRES,)
    )
    cluster.load([*refs, *support])
    return Images(tag, tuple(refs), time.monotonic() - began)


def kubectl_json(cluster: Cluster, *args: str) -> Any:
    return json.loads(cluster.kubectl(*args, "-o", "json"))


def service_url(cluster: Cluster, installed: Installed, service: str, port: int = 8000) -> str:
    svc = kubectl_json(cluster, "-n", installed.namespace, "get", "service", f"{installed.fullname}-{service}")
    return f"http://{svc['spec']['clusterIP']}:{port}"


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


def wait_reachable(cluster: Cluster, installed: Installed) -> None:
    """Until every service Deployment is Available and the orders Service answers the machine: `helm --wait`
    saw the pods Ready, and kube-proxy programs a new Service's rules a moment later."""
    deployments = [f"deploy/{installed.fullname}-{s}" for s in app_images.SERVICES]
    cluster.kubectl("-n", installed.namespace, "wait", "--for=condition=Available", *deployments, "--timeout=180s")
    url = service_url(cluster, installed, "orders")
    try:
        wait_for(lambda: answers(url), f"{url} (the orders Service) answering", timeout=180, interval=0.5)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{why_not(cluster, installed, 'orders')}") from None


def why_not(cluster: Cluster, installed: Installed, service: str) -> str:
    """What a failure needs to be understood: the pods, recent warnings, the service's log tail."""
    namespace, deployment = installed.namespace, f"deploy/{installed.fullname}-{service}"
    parts = [
        cluster.kubectl("-n", namespace, "get", "pods", "-o", "wide", check=False),
        cluster.kubectl("-n", namespace, "get", "events", "--field-selector", "type=Warning", check=False)[-3000:],
        log_tail(cluster, namespace, deployment, 30),
    ]
    return "\n".join(parts)


def log_tail(cluster: Cluster, namespace: str, workload: str, lines: int) -> str:
    """The last `lines` log lines of every container of `workload`, at most 4000 characters of them."""
    return cluster.kubectl("-n", namespace, "logs", workload, "--all-containers", f"--tail={lines}", check=False)[
        -4000:
    ]


def pods(cluster: Cluster, namespace: str, selector: str = "") -> list[dict[str, Any]]:
    args = ["-n", namespace, "get", "pods", *(["-l", selector] if selector else [])]
    items: list[dict[str, Any]] = kubectl_json(cluster, *args)["items"]
    return items


def ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def exec_in(
    cluster: Cluster, namespace: str, target: str, *argv: str, check: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`kubectl exec` into a pod (or `deploy/<name>`)."""
    kubectl = [str(KUBERNETES.binary("kubectl")), f"--kubeconfig={cluster.kubeconfig}", "-n", namespace, "exec", target]
    return subprocess.run([*kubectl, "--", *argv], capture_output=True, text=True, timeout=timeout, check=check)


def ops(cluster: Cluster, installed: Installed, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`orderflow ARGS` in the release's operations toolbox, as a person on call runs it."""
    target = f"deploy/{installed.fullname}-ops"
    return exec_in(cluster, installed.namespace, target, "orderflow", *argv, timeout=timeout)


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


def start_load(orders_url: str, count: int, rate: float, seed: int, in_flight: int = 0) -> subprocess.Popen[str]:
    """`orderflow load` in the background; with `in_flight`, once that many of its POSTs were answered, so that a
    fault that follows finds orders mid-flow on every partition."""
    answered = posts_answered(orders_url) if in_flight else 0.0
    argv = [str(ORDERFLOW), "load", "--orders", str(count), "--rate", str(rate), "--orders-url", orders_url]
    argv += ["--concurrency", "8", "--wait-timeout", "180", "--seed", str(seed), "--json"]
    load = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if in_flight:
        wait_posts(orders_url, answered + in_flight)
    return load


def finish_load(load: subprocess.Popen[str], timeout: float = 600) -> dict[str, Any]:
    out, err = load.communicate(timeout=timeout)
    assert load.returncode == 0, f"orderflow load failed ({load.returncode}):\n{out}\n{err[-3000:]}"
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return summary


def seed(cluster: Cluster, installed: Installed) -> None:
    """Demo stock for every SKU `orderflow load` orders, from inside the release."""
    done = ops(cluster, installed, "seed")
    assert done.returncode == 0, done.stdout + done.stderr


# Stock conserved for the SKUs `orderflow load` orders (helm test's own SKUs start elsewhere, so --initial-stock
# would not hold for them): run by the toolbox's interpreter, which reaches inventory.
STOCK_CHECK = f"""
import os, httpx
for sku in {list(SKUS)!r}:
    stock = httpx.get(os.environ["ORDERFLOW_INVENTORY_URL"] + "/stock/" + sku, timeout=10).json()
    assert stock["available"] + stock["reserved"] == {DEMO_STOCK}, stock
print("stock conserved")
"""


@dataclass(frozen=True)
class Verified:
    orders: int
    output: str


def verify(cluster: Cluster, installed: Installed) -> Verified:
    """`orderflow verify` (every order terminal, net charge = total or 0, reserved = what confirmed orders hold)
    in the release's toolbox, and stock conserved for the SKUs `orderflow load` orders."""
    done = ops(cluster, installed, "verify")
    assert done.returncode == 0, f"orderflow verify failed:\n{done.stdout}{done.stderr}"
    target = f"deploy/{installed.fullname}-ops"
    stock = exec_in(cluster, installed.namespace, target, "python3", "-c", STOCK_CHECK)
    assert stock.returncode == 0, stock.stdout + stock.stderr
    found = re.search(r"^(\d+) orders", done.stdout, re.M)
    assert found is not None, done.stdout
    return Verified(int(found.group(1)), done.stdout.strip())


# Sends records as the service whose pod runs it, with that service's KafkaUser: the only way in for a test, as
# the listener admits pods of the release alone. Reads [[key, value, [[header, value], ...]], ...] (base64) on stdin.
PRODUCE = """
import asyncio, base64, json, sys
from aiokafka import AIOKafkaProducer
from eventkit.settings import KafkaSettings
def raw(text):
    return base64.b64decode(text)
async def main(topic, records):
    settings = KafkaSettings()
    producer = AIOKafkaProducer(**settings.client_options())
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(
                settings.topic(topic), raw(value), key=raw(key), headers=[(h, raw(v)) for h, v in headers]
            )
    finally:
        await producer.stop()
asyncio.run(main(sys.argv[1], json.load(sys.stdin)))
"""


def produce_as(
    cluster: Cluster,
    installed: Installed,
    service: str,
    topic: str,
    records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]],
) -> None:
    """Records on `topic` (a catalog name: the release's prefix is added) sent by `service`'s pod as itself."""
    import base64

    def text(data: bytes) -> str:
        return base64.b64encode(data).decode()

    payload = json.dumps([[text(k), text(v), [[h, text(x)] for h, x in hs]] for k, v, hs in records])
    kubectl = [str(KUBERNETES.binary("kubectl")), f"--kubeconfig={cluster.kubeconfig}", "-n", installed.namespace]
    argv = [*kubectl, "exec", "-i", f"deploy/{installed.fullname}-{service}", "--", "python", "-c", PRODUCE, topic]
    done = subprocess.run(argv, input=payload, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def posts_answered(orders_url: str) -> float:
    """POST /orders answered so far by the orders pod behind the Service (its own request counter)."""
    text = httpx.get(f"{orders_url}/metrics", timeout=10, trust_env=False).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("orderflow_http_requests_total{") and 'method="POST"' in line and 'route="/orders"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_posts(orders_url: str, at_least: float) -> None:
    def reached() -> bool:
        try:
            return posts_answered(orders_url) >= at_least
        except httpx.TransportError:
            # The probe only watches progress (a pod behind the Service may be moving); the load's own retries
            # and the test's verify judge the platform.
            return False

    wait_for(reached, f"{at_least:.0f} POST /orders answered", interval=0.5)


def broker_pod(installed: Installed) -> str:
    """The one broker of the chart's default Kafka (pool `<cluster>-dual-role`, node 0), as Strimzi names it."""
    return f"{installed.kafka}-{installed.kafka}-dual-role-0"


# A Kafka tool in the broker's pod, as the broker itself (its certificate's subject is a super user), on the
# replication listener; a small heap of its own beside the broker's.
BROKER_TOOL = """set -eu
cat > /tmp/admin.properties <<PROPERTIES
security.protocol=SSL
ssl.keystore.type=PEM
ssl.keystore.location=/tmp/kafka/keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=/opt/kafka/cluster-ca-certs/ca.crt
PROPERTIES
export KAFKA_HEAP_OPTS="-Xms32m -Xmx96m"
exec kafka-run-class.sh "$@" --bootstrap-server "$(hostname -f):9091" --command-config /tmp/admin.properties
"""


def broker_tool(cluster: Cluster, installed: Installed, tool_class: str, *args: str) -> str:
    """`kafka-run-class.sh TOOL_CLASS ARGS` against the platform's broker, as the broker; its output."""
    done = exec_in(
        cluster, installed.namespace, broker_pod(installed), "sh", "-c", BROKER_TOOL, "tool", tool_class, *args
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
