"""The cluster tier: a real single-node Kubernetes (`orderflow k8s up --node`), the four images built from the
real Dockerfiles, and the platform installed from both charts, shared by the whole session.

`node` reuses a node that already runs on this machine (`orderflow k8s up --node --detach`, the fast loop) and
leaves it running; otherwise it starts one in a temporary state dir, stops it at the end and fails the session's
teardown when anything of it stays on the machine (mounts, links, iptables chains, sysctls). It needs root and
scripts/install-node.sh; without them the tier skips, and fails under CI=true (tests.support.infrastructure).
The first session on a machine builds the Go tools and the base image (~25 minutes on 2 cores); its tests then
get a longer timeout. Every install takes a namespace and a Kafka topic prefix of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.cache import ToolMissing
from devstack.cluster import host
from devstack.cluster.build import NODE_TOOLS, BuildError, is_current, pause_binary
from devstack.cluster.controlplane import ClusterError
from devstack.cluster.host import NotRoot
from devstack.cluster.node import Node, running_node, start
from devstack.cluster.platform import Installed, InstallError, install, uninstall
from devstack.images.base import rootfs_tar
from devstack.images.engine import ImageError
from tests.cluster.kube import Images, build_images, delete_topics, wait_reachable
from tests.support.infrastructure import unavailable

_FAILURES = (ToolMissing, BuildError, ClusterError, NotRoot, ImageError, InstallError, OSError)
COLD_TIMEOUT = 3600


def _cold() -> bool:
    return not (all(is_current(tool) for tool in NODE_TOOLS) and pause_binary().exists() and rootfs_tar().exists())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    if any(here in item.path.parents for item in items) and _cold():
        for item in items:
            if here in item.path.parents:
                item.add_marker(pytest.mark.timeout(COLD_TIMEOUT), append=False)


@pytest.fixture(scope="session")
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    if os.geteuid() != 0:
        unavailable("local Kubernetes node", "it needs root (containerd, kubelet, iptables)")
    # The node's registry only when a test pushes to it (skaffold's `node` profile): it is one more Go build.
    registry = any(item.get_closest_marker("skaffold") for item in request.session.items)
    current = running_node()
    if current is not None and current.running():
        if registry and not current.registry:
            current = start(current.state_dir, registry=True, log=lambda line: print(f"[node] {line}"))
        yield current
        return
    state = tmp_path_factory.mktemp("node")
    try:
        started = start(state, registry=registry, log=lambda line: print(f"[node] {line}"))
    except _FAILURES as error:
        unavailable("local Kubernetes node", error)
    sysctls = dict(started.sysctls)
    try:
        yield started
    finally:
        started.stop(log=lambda line: print(f"[node] {line}"))
        left = host.leftovers([started.layout.state, started.layout.store], sysctls, host.system_docker_running())
        assert not left, "the node left on the machine:\n" + "\n".join(left)


@pytest.fixture(scope="session")
def images(node: Node) -> Images:
    try:
        return build_images(node, "test")
    except _FAILURES as error:
        unavailable("the orderflow images", error)


@pytest.fixture(scope="session")
def platform(node: Node, images: Images) -> Iterator[Installed]:
    """The whole platform (operator + application) in a namespace and a topic prefix of its own."""
    namespace = f"of-{uuid.uuid4().hex[:6]}"
    settings = {"kafka.topicPrefix": f"{namespace}."}
    try:
        installed = install(
            node, namespace=namespace, release="of", tag=images.tag, build=False, settings=settings, log=print
        )
    except _FAILURES as error:
        node.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found", check=False)
        raise AssertionError(f"installing the platform failed: {error}") from error
    try:
        wait_reachable(node, installed)
        yield installed
    finally:
        uninstall(node, installed)
        node.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        delete_topics(installed.bootstrap_servers, f"{namespace}.")


def pytest_configure(config: pytest.Config) -> None:
    # Also declared in pyproject.toml's markers; registered here so the tier runs under --strict-markers either way.
    config.addinivalue_line("markers", "cluster: needs the local single-node Kubernetes (root; started by the fixture)")
    config.addinivalue_line("markers", "skaffold: the skaffold dev loop on the node (`make test-skaffold`)")
