"""README's "Operating it": every command of every runbook section, run in order against the platform on the
local node, as an operator would type it (bash, `set -euo pipefail`), with the variables its set-up block
names. The set-up block itself (port-forwards) is replaced by the Services' cluster IPs, which answer here.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.cluster.build import HELM, KUBERNETES
from devstack.cluster.node import Node
from devstack.cluster.platform import Installed
from orderflow.demo import SKUS, seed_demo_stock
from tests.cluster.kube import service_url, wait_reachable

pytestmark = [pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]


def runbook() -> list[tuple[str, str]]:
    """(section, script) of every sh block under "## Operating it" after its set-up block, in order."""
    text = (REPO / "README.md").read_text()
    start = text.index("\n## Operating it\n")
    end = text.index("\n## ", start + 1)
    blocks: list[tuple[str, str]] = []
    section = ""
    for part in re.split(r"(^### .+$)", text[start:end], flags=re.M):
        if part.startswith("### "):
            section = part[4:].strip()
            continue
        blocks += [(section, block) for block in re.findall(r"```sh\n(.*?)```", part, flags=re.S)]
    setup, *steps = blocks
    assert setup[0] == "", "the set-up block comes before the first section"
    return steps


def test_the_runbook_names_every_alerts_section() -> None:
    sections = {section for section, _ in runbook()}
    assert {"Lag is growing", "The DLQ is filling", "An order is stuck", "Errors"} <= sections
    rules = (REPO / "charts" / "orderflow" / "rules" / "orderflow-alerts.yaml").read_text()
    rules += (REPO / "charts" / "orderflow" / "templates" / "_observability.tpl").read_text()
    named = set(re.findall(r'runbook: "README, Operating it: ([^"]+)"', rules))
    assert named
    assert {name.lower() for name in named} <= {section.lower() for section in sections}


def _garbage(bootstrap: str, topic: str) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"{not json", key=b"runbook")
        finally:
            await producer.stop()

    asyncio.run(send())


def test_every_runbook_command_works_on_the_cluster(node: Node, platform: Installed) -> None:
    wait_reachable(node, platform)  # the tests before replace and restart pods of this platform
    urls = {s: service_url(node, platform, s) for s in ("orders", "inventory", "payments")}
    seed_demo_stock(urls["inventory"])
    body = {"customer_id": "runbook", "items": [{"sku": SKUS[0], "quantity": 1, "unit_price": "2.00"}]}
    placed = httpx.post(f"{urls['orders']}/orders", json={**body, "currency": "EUR"}, timeout=30, trust_env=False)
    assert placed.status_code == 202, placed.text
    # Something for the DLQ section to find.
    _garbage(platform.bootstrap_servers, f"{platform.namespace}.orders")
    helm_home = node.state_dir / "helm"
    tools = [KUBERNETES.binary("kubectl").parent, HELM.binary("helm").parent, Path(sys.executable).parent]
    env = {
        **os.environ,
        "PATH": os.pathsep.join([*map(str, tools), os.environ.get("PATH", "")]),
        "KUBECONFIG": str(node.kubeconfig),
        **{name: str(helm_home / name.lower()) for name in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME")},
        "NS": platform.namespace,
        "RELEASE": platform.release,
        "APP": platform.fullname,
        "ORDERFLOW_KAFKA_NAMESPACE": f"{platform.namespace}.",
        "KAFKA_BOOTSTRAP_SERVERS": platform.bootstrap_servers,
        "ORDERS_URL": urls["orders"],
        "INVENTORY_URL": urls["inventory"],
        "PAYMENTS_URL": urls["payments"],
        "ORDER_ID": placed.json()["order_id"],
        "TAG": platform.tag,
        "COLUMNS": "200",  # Rich tables as wide as a terminal's, not folded mid-word
    }
    for section, script in runbook():
        done = subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n{script}"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
        )
        print(f"--- {section}\n{script}{done.stdout[-3000:]}")
        assert done.returncode == 0, f"{section}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        if section == "The DLQ is filling":
            assert "MalformedEvent" in done.stdout, done.stdout
            assert "replayed" in done.stdout, done.stdout
        if section == "An order is stuck":
            assert '"http request"' in done.stdout, "kubectl logs show the request line naming the order"
