"""`orderflow k8s skaffold`: the environment skaffold's `kind` profile reads, as data."""

from __future__ import annotations

from pathlib import Path

from devstack.cluster import skaffold
from devstack.cluster.cluster import Cluster
from devstack.cluster.dockerd import Layout
from devstack.cluster.tools import HELM, KIND, KUBERNETES, SKAFFOLD


def test_the_cluster_and_its_tools_replace_the_callers_settings(tmp_path: Path) -> None:
    cluster = Cluster(Layout(tmp_path / "state", tmp_path / "store"))
    caller = {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "DOCKER_HOST": "tcp://elsewhere:2375",
        "SKAFFOLD_DEFAULT_REPO": "registry.example",
        "KIND_CLUSTER_NAME": "other",
        "KUBECONFIG": "/elsewhere",
    }
    env = skaffold.skaffold_env(cluster, "shop", "orderflow.local/python:3.11", caller)
    assert env["HOME"] == "/root"
    assert env["KUBECONFIG"] == str(cluster.kubeconfig)
    assert env["DOCKER_HOST"] == f"unix://{cluster.layout.docker_sock}"
    assert env["DOCKER_CONFIG"] == str(cluster.layout.docker_config)
    shim = tmp_path / "state" / "kind-bin"
    tools = [str(SKAFFOLD.bin_dir), str(shim), *(str(t.bin_dir) for t in (KIND, KUBERNETES, HELM)), "/usr/bin"]
    assert env["PATH"].split(":") == tools
    assert (shim / "docker").resolve().name == "kind-docker.sh", "kind runs the docker shim"
    assert "SKAFFOLD_DEFAULT_REPO" not in env
    assert "KIND_CLUSTER_NAME" not in env
    assert (env["SKAFFOLD_PROFILE"], env["SKAFFOLD_NAMESPACE"]) == ("kind", "shop")
    assert env["PYTHON_IMAGE"] == "orderflow.local/python:3.11"
