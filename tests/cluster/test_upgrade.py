"""An upgrade under load from the previous chart to this one, across a schema migration.

PREVIOUS is the last revision before versioned releases began (CHANGELOG: nothing was published before 0.1.0,
so that revision of main is what an adopter ran): its chart, its k8s/local-values.yaml and its three service
images, built here from its source with its own Dockerfile. Its inventory schema stops at migration 0002 (stock
in a 32-bit column); this tree adds 0003 (64-bit). Orders flow while `helm upgrade` rolls every Deployment onto
this chart and this tree's images, each new pod migrating under the lock in its init container while old pods
still serve. Every order ends CONFIRMED or CANCELLED and `orderflow verify` holds.

The operations toolbox runs this tree's `orderflow` CLI throughout: it is the test's hands (seed, verify), not
part of what is upgraded.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.cluster.cluster import Cluster
from devstack.cluster.platform import (
    APP_CHART,
    LOCAL_VALUES,
    REPO,
    Installed,
    app_settings,
    helm,
    helm_upgrade_argv,
    namespace_manifest,
)
from devstack.images import app_images
from tests.cluster.kube import (
    Images,
    exec_in,
    finish_load,
    kubectl_json,
    seed,
    service_url,
    start_load,
    verify,
    wait_reachable,
)
from tests.support.infrastructure import unavailable

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1800)]

# main before the release work: chart 0.1.0 unpublished, inventory migrations 0001-0002.
PREVIOUS = "c3ebf4bb52e4690ac8fc87143f356c2bf0e7f660"
PREVIOUS_TAG = "previous"
SERVICES = tuple(spec for spec in app_images.IMAGES if spec.dockerfile == "services/Dockerfile")
ORDERS = 300
# Beyond a 32-bit column, within the API's bound since migration 0003.
BIG_STOCK = 2**40

SET_STOCK = """
import json, os, sys, httpx
url = os.environ["ORDERFLOW_INVENTORY_URL"] + "/stock/" + sys.argv[1]
answer = httpx.put(url, json={"available": int(sys.argv[2])}, timeout=30)
print(json.dumps({"status": answer.status_code, "body": answer.text}))
"""


@pytest.fixture(scope="module")
def previous_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PREVIOUS's files, from this clone's history."""
    tree = tmp_path_factory.mktemp("previous")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", PREVIOUS], capture_output=True)
    if archive.returncode != 0:
        unavailable(f"revision {PREVIOUS[:12]} (the previous chart)", archive.stderr.decode().strip())
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


@pytest.fixture(scope="module")
def previous(cluster: Cluster, images: Images, previous_tree: Path) -> Iterator[Installed]:
    """PREVIOUS's chart and service images, installed in a namespace of its own (its own Kafka cluster)."""
    refs = app_images.build_all(
        cluster.engine, PREVIOUS_TAG, log=print, logs=cluster.logs, images=SERVICES, repo=previous_tree
    )
    cluster.load(refs)
    namespace = f"of-up-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("apply", "-f", "-", input=json.dumps(namespace_manifest(namespace)))
    ids = {s: cluster.engine.image_id(f"orderflow-{s}:{PREVIOUS_TAG}") or "" for s in app_images.SERVICES}
    values = (previous_tree / "k8s" / "local-values.yaml",)
    settings = app_settings(PREVIOUS_TAG, ids, {"operations.enabled": "true", "operations.image.tag": images.tag})
    chart = previous_tree / "charts" / "orderflow"
    installed = Installed(namespace, "of", None, PREVIOUS_TAG, tuple(map(str, values)), settings)
    try:
        helm(cluster, *helm_upgrade_argv(installed.release, chart, namespace, values=values, settings=settings))
        wait_reachable(cluster, installed)
        yield installed
    finally:
        helm(cluster, "uninstall", installed.release, "--namespace", namespace, "--wait", "--ignore-not-found")
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def _set_stock(cluster: Cluster, installed: Installed, sku: str, available: int) -> dict[str, object]:
    done = exec_in(
        cluster,
        installed.namespace,
        f"deploy/{installed.fullname}-ops",
        "python3",
        "-c",
        SET_STOCK,
        sku,
        str(available),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def test_an_upgrade_from_the_previous_chart_under_load_across_a_migration_loses_no_order(
    cluster: Cluster, images: Images, previous: Installed, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(cluster, previous)
    before = verify(cluster, previous).orders
    # The previous schema cannot hold it (the overflow 0003 fixes); it is stored after the upgrade.
    refused = _set_stock(cluster, previous, "UPGRADE-64", BIG_STOCK)
    assert refused["status"] != 200, refused
    url = service_url(cluster, previous, "orders")
    load = start_load(url, count=ORDERS, rate=4, seed=47, in_flight=40)
    ids = {s: cluster.engine.image_id(f"orderflow-{s}:{images.tag}") or "" for s in app_images.SERVICES}
    # As the runbook upgrades: this chart's values file and settings, no --reuse-values.
    settings = app_settings(images.tag, ids, {"operations.enabled": "true"})
    began = time.monotonic()
    helm(
        cluster,
        *helm_upgrade_argv(previous.release, APP_CHART, previous.namespace, values=(LOCAL_VALUES,), settings=settings),
    )
    upgraded_in = time.monotonic() - began
    flowing = load.poll() is None  # reported, not asserted: how long the rollout takes depends on the machine
    summary = finish_load(load, timeout=900)
    upgraded = Installed(previous.namespace, previous.release, None, images.tag, (str(LOCAL_VALUES),), settings)
    wait_reachable(cluster, upgraded)
    deployments = kubectl_json(cluster, "-n", upgraded.namespace, "get", "deployments")["items"]
    running = {c["image"] for d in deployments for c in d["spec"]["template"]["spec"]["containers"]}
    ours = {image for image in running if image.startswith("orderflow-")}
    assert ours, running
    assert all(image.endswith(f":{images.tag}") for image in ours), running
    checked = verify(cluster, upgraded)
    stored = _set_stock(cluster, upgraded, "UPGRADE-64", BIG_STOCK)
    with capsys.disabled():
        print(
            f"\nupgrade {PREVIOUS[:12]} -> this tree under load: {summary}\n{checked.output}\n"
            f"stock {BIG_STOCK} before: {refused['status']}, after: {stored['status']}\n"
            f"helm upgrade --wait took {upgraded_in:.0f}s; orders still being placed when it returned: {flowing}\n"
            f"images after: {', '.join(sorted(ours))}"
        )
    assert stored["status"] == 200, stored
    assert json.loads(str(stored["body"]))["available"] == BIG_STOCK
    assert (summary["accepted"], summary["pending"]) == (ORDERS, 0)
    assert summary["confirmed"] + summary["cancelled"] == ORDERS
    assert checked.orders == before + ORDERS, "no order lost or doubled"
