"""The cluster tier: the local kind cluster (`orderflow k8s up`: one control plane, two workers, kube-router
enforcing NetworkPolicies, the Strimzi stand-in), the images built from the real Dockerfiles, and the platform
installed from both charts on the chart's default Kafka path, shared by the whole session.

`cluster` reuses a cluster that already runs on this machine (`orderflow k8s up`, the fast loop) and leaves it
running; otherwise it makes one in a temporary state dir, deletes it at the end and fails the session's teardown
when anything of it stays on the machine (mounts, bridges, iptables chains, kernel settings). It needs root and
scripts/install-node.sh; without them the tier skips, and fails under CI=true (tests.support.infrastructure).
The first session on a machine builds the Go tools, the node image and the base images; its tests then get a
longer timeout. Every install takes a namespace of its own (and so a Kafka cluster of its own).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.cluster import host
from devstack.cluster.build import is_current
from devstack.cluster.cli import FAILURES
from devstack.cluster.cluster import Cluster, down, running, up
from devstack.cluster.platform import Installed, InstallError, ensure_standin, install, uninstall
from devstack.cluster.tools import CLUSTER_TOOLS
from devstack.images.base import KIND_NODE
from tests.cluster.kube import Images, build_images, wait_reachable
from tests.support.infrastructure import unavailable

COLD_TIMEOUT = 3600
# The platform of most tests: the operations toolbox on (its pod runs `orderflow verify` inside the release), and
# inventory under a ConsumerScaler held at one replica, so that the chart's scaler KafkaUser exists (its ACLs are
# tested) while pod tests still find one inventory pod.
SETTINGS = {
    "operations.enabled": "true",
    "services.inventory.autoscaler.enabled": "true",
    "services.inventory.autoscaler.minReplicas": "1",
    "services.inventory.autoscaler.maxReplicas": "1",
}


def _cold() -> bool:
    return not (all(is_current(tool) for tool in CLUSTER_TOOLS) and KIND_NODE.tar.exists())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that stop nodes, delete the broker or upgrade the shared platform come last: the others find it as
    # installed (stable sort: each group keeps its order).
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)
    here = Path(__file__).parent

    if any(here in item.path.parents for item in items) and _cold():
        for item in items:
            if here in item.path.parents:
                item.add_marker(pytest.mark.timeout(COLD_TIMEOUT), append=False)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if os.geteuid() != 0:
        unavailable("local kind cluster", "it needs root (dockerd, containerd, iptables)")
    current = running()
    if current is not None:
        ensure_standin(current, log=lambda line: print(f"[cluster] {line}"))
        yield current
        return
    state = tmp_path_factory.mktemp("cluster")
    log = lambda line: print(f"[cluster] {line}")  # noqa: E731
    sysctls = host.read_sysctls()
    try:
        made = up(state, workers=2, log=log)
        ensure_standin(made, log)
    except (*FAILURES, InstallError, OSError) as error:
        down(state, log)
        unavailable("local kind cluster", error)
    try:
        yield made
    finally:
        down(state, log)
        left = host.leftovers([made.layout.state, made.layout.store], sysctls)
        assert not left, "the cluster left on the machine:\n" + "\n".join(left)


@pytest.fixture(scope="session")
def images(cluster: Cluster) -> Images:
    try:
        return build_images(cluster, "test")
    except (*FAILURES, OSError) as error:
        unavailable("the orderflow images", error)


@pytest.fixture(scope="session")
def platform(cluster: Cluster, images: Images) -> Iterator[Installed]:
    """The whole platform (operator + application, Strimzi path) in a namespace of its own."""
    namespace = f"of-{uuid.uuid4().hex[:6]}"
    try:
        installed = install(
            cluster, namespace=namespace, release="of", tag=images.tag, build=False, settings=SETTINGS, log=print
        )
    except (*FAILURES, InstallError, OSError) as error:
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found", check=False)
        raise AssertionError(f"installing the platform failed: {error}") from error
    try:
        wait_reachable(cluster, installed)
        yield installed
    finally:
        uninstall(cluster, installed)
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def pytest_configure(config: pytest.Config) -> None:
    # Also declared in pyproject.toml's markers; registered here so the tier runs under --strict-markers either way.
    config.addinivalue_line("markers", "cluster: needs the local kind cluster (root; started by the fixture)")
    config.addinivalue_line("markers", "skaffold: the skaffold dev loop on the cluster (`make test-skaffold`)")
    config.addinivalue_line("markers", "disruptive: stops nodes or the broker, or upgrades the shared platform")
