"""`kube_api`: one real etcd + kube-apiserver (with Strimzi's CRDs) per test session, on free ports.

Use it as `def test_x(kube_api: ControlPlane)`; `kube_api.client()` is an httpx client as cluster-admin,
`kube_api.client("unprivileged")` / `("anonymous")` are identities without RBAC grants, and
`kube_api.kubeconfig` serves helm or kopf. The first run builds the binaries (~10 minutes for the kubernetes
binaries, then cached in ~/.cache/orderflow), so modules using it carry `pytest.mark.timeout(1200)` or run
after `orderflow k8s build`.

There is no controller-manager: a deleted namespace never goes away, so each test takes a fresh one from
the `namespace` fixture.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.cache import ToolMissing
from devstack.cluster.build import BuildError, is_current
from devstack.cluster.controlplane import ControlPlane, start
from devstack.cluster.crds import CrdError
from devstack.cluster.daemons import DaemonError
from devstack.cluster.tools import CONTROL_PLANE_TOOLS, ensure_binaries
from tests.apiserver.helm import Helm
from tests.support.infrastructure import unavailable


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # From empty caches the first test that needs the API builds the kubernetes binaries, etcd and helm (~15
    # minutes on 2 cores); warm, every test keeps its own timeout.
    here = Path(__file__).parent
    if any(here in item.path.parents for item in items) and not all(map(is_current, CONTROL_PLANE_TOOLS)):
        for item in items:
            if here in item.path.parents:
                item.add_marker(pytest.mark.timeout(3600), append=False)


@pytest.fixture(scope="session")
def kube_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    state_dir = tmp_path_factory.mktemp("k8s")
    try:
        # start() stops whatever it started when it fails, so there is nothing to clean up here.
        plane = start(state_dir, log=lambda line: print(f"[kube_api] {line}"))
    except (ToolMissing, BuildError, DaemonError, CrdError, OSError, RuntimeError) as error:
        unavailable("local Kubernetes API", error)
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture
def namespace(kube_api: ControlPlane) -> str:
    """A new namespace with a unique name (namespaces cannot be deleted here, so none is reused)."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    with kube_api.client() as client:
        client.post("/api/v1/namespaces", json={"metadata": {"name": name}}).raise_for_status()
    return name


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """The pinned helm built by `orderflow k8s build` (built on first use), with empty helm home folders."""
    try:
        binaries = ensure_binaries(log=lambda line: print(f"[helm] {line}"))
    except (ToolMissing, BuildError, OSError) as error:
        unavailable("helm", error)
    return Helm(binaries.helm, tmp_path_factory.mktemp("helm-home"))
