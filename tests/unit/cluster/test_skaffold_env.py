"""`orderflow k8s skaffold`: the environment skaffold's `node` profile reads, as data."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.cluster import nodeconfig as cfg
from devstack.cluster import skaffold
from devstack.cluster.build import HELM, KUBERNETES
from devstack.cluster.controlplane import ClusterError
from devstack.cluster.node import Node

NODE = Node(cfg.Layout(Path("/state"), Path("/store")), cfg.Network("192.0.2.2", "vm"))


def test_the_node_its_registry_and_its_broker_replace_the_callers_settings() -> None:
    caller = {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "DOCKER_HOST": "tcp://elsewhere:2375",
        "SKAFFOLD_DEFAULT_REPO": "registry.example",
        "KUBECONFIG": "/elsewhere",
    }
    env = skaffold.skaffold_env(NODE, "shop", "orderflow.local/python:3.11", "192.0.2.2:9092", caller)
    assert env["HOME"] == "/root"
    assert env["KUBECONFIG"] == str(NODE.kubeconfig)
    assert env["DOCKER_HOST"] == f"unix://{NODE.layout.docker_sock}"
    assert env["DOCKER_CONFIG"] == str(NODE.layout.docker_config)
    assert env["PATH"].split(":") == [str(KUBERNETES.bin_dir), str(HELM.bin_dir), "/usr/bin"]
    assert env["SKAFFOLD_DEFAULT_REPO"] == "localhost:5000" == skaffold.DEFAULT_REPO
    assert (env["SKAFFOLD_PROFILE"], env["SKAFFOLD_NAMESPACE"]) == ("node", "shop")
    assert (env["PYTHON_IMAGE"], env["KAFKA_BOOTSTRAP_SERVERS"]) == ("orderflow.local/python:3.11", "192.0.2.2:9092")


def test_a_node_without_its_registry_is_refused_with_the_fix() -> None:
    with pytest.raises(ClusterError, match=r"orderflow k8s up --node --registry"):
        skaffold.prepare(NODE, "shop")
