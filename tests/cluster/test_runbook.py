"""The operations runbook (docs/operations.md): every command of every section, run in order against the platform
on the kind cluster, as an operator would type it (bash, `set -euo pipefail`), after the set-up block (whose first
line, the exports of the namespace, release and prefix, takes this platform's values instead of the defaults).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import Installed
from orderflow.demo import SKUS
from tests.cluster.kube import produce_as, seed, service_url, wait_reachable

pytestmark = [pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]


def blocks() -> list[tuple[str, str]]:
    """(section, script) of every sh block of the runbook, in order: the set-up block first."""
    text = (REPO / "docs" / "operations.md").read_text()
    blocks: list[tuple[str, str]] = []
    section = ""
    for part in re.split(r"(^## .+$)", text, flags=re.M):
        if part.startswith("## "):
            section = part[3:].strip()
            continue
        blocks += [(section, block) for block in re.findall(r"```sh\n(.*?)```", part, flags=re.S)]
    assert blocks[0][0] == "", "the set-up block comes before the first section"
    return blocks


def runbook() -> list[tuple[str, str]]:
    return blocks()[1:]


def anchor(heading: str) -> str:
    """The anchor MkDocs gives a heading (its toc extension's default slugify)."""
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", heading).strip().lower())


def test_every_alert_links_a_section_of_the_runbook() -> None:
    sections = {section for section, _ in runbook()}
    assert {"Lag is growing", "The DLQ is filling", "An order is stuck", "Errors", "A service is down"} <= sections
    rules = (REPO / "charts" / "orderflow" / "rules" / "orderflow-alerts.yaml").read_text()
    rules += (REPO / "charts" / "orderflow" / "templates" / "_observability.tpl").read_text()
    linked = set(re.findall(r'runbook_url: .*"%?s?operations/#([\w-]+)"', rules))
    assert len(linked) == 5
    assert linked <= {anchor(section) for section in sections}


def test_every_runbook_command_works_on_the_cluster(cluster: Cluster, platform: Installed) -> None:
    wait_reachable(cluster, platform)  # the tests before replace and restart pods of this platform
    seed(cluster, platform)
    body = {"customer_id": "runbook", "items": [{"sku": SKUS[0], "quantity": 1, "unit_price": "2.00"}]}
    orders = service_url(cluster, platform, "orders")
    placed = httpx.post(f"{orders}/orders", json={**body, "currency": "EUR"}, timeout=30, trust_env=False)
    assert placed.status_code == 202, placed.text
    # Something for the DLQ section to find: a record no consumer can read, sent by the orders service as itself
    # (its KafkaUser may write its own topic, as a buggy release of it would).
    produce_as(cluster, platform, "orders", "orders", [(b"runbook", b"{not json", [])])
    helm_home = cluster.layout.state / "helm"
    env = {
        **cluster.env(os.environ),
        **{name: str(helm_home / name.lower()) for name in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME")},
        "NS": platform.namespace,
        "RELEASE": platform.release,
        "APP": platform.fullname,
        "ORDER_ID": placed.json()["order_id"],
        "TAG": platform.tag,
        "COLUMNS": "200",  # Rich tables as wide as a terminal's, not folded mid-word
    }
    setup = blocks()[0][1]
    exports, _, rest = setup.partition("\n")
    assert exports.startswith("export NS="), "the set-up block starts with the exports this test replaces"
    for section, script in runbook():
        done = subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n{rest}\n{script}"],
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
        if section == "A service is down":
            assert "Running" in done.stdout, "the service's pods and their status"
        if section == "An order is stuck":
            assert '"http request"' in done.stdout, "kubectl logs show the request line naming the order"
