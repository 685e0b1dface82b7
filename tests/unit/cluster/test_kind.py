"""kind as data: the cluster configuration, the environment it runs with, and the docker shim that stands in for
privileged containers (run with `echo` as the real CLI, so what it passes on is what it prints)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from devstack.cluster import kind
from devstack.cluster.dockerd import Layout


def test_the_declared_cluster_is_one_control_plane_and_two_workers_on_kinds_default_subnets() -> None:
    assert kind.config(kind.CLUSTER, workers=2) == kind.DECLARED, "`up` makes what k8s/kind-cluster.yaml says"
    assert kind.DECLARED["networking"] == {"podSubnet": "10.244.0.0/16", "serviceSubnet": "10.96.0.0/16"}
    single = kind.config("x", workers=0)
    assert [n["role"] for n in single["nodes"]] == ["control-plane"]
    assert single["name"] == "x"


def _shim(*args: str) -> list[str]:
    env = {**os.environ, "ORDERFLOW_REAL_DOCKER": "echo"}
    return subprocess.run([str(kind.SHIM), *args], capture_output=True, text=True, env=env, check=True).stdout.split()


def test_the_shim_runs_a_node_with_every_capability_but_the_one_root_lacks() -> None:
    out = _shim("run", "--name", "n", "--privileged", "--security-opt", "seccomp=unconfined", "--volume", "/var", "img")
    assert "--privileged" not in out
    assert out[out.index("--cap-add") + 1] == "ALL"
    assert out[out.index("--cap-drop") + 1] == "SYS_RESOURCE"
    assert "systempaths=unconfined" in out
    assert "/dev/kmsg" in out
    assert out[-3:] == ["--volume", "/var", "img"], "everything else passes unchanged, in order"


@pytest.mark.skipif(Path("/lib/modules").is_dir(), reason="a host with loadable modules keeps kind's mount")
def test_the_shim_drops_kinds_module_mount_on_a_host_without_modules() -> None:
    out = _shim("run", "--volume", "/lib/modules:/lib/modules:ro", "--volume", "/var", "img")
    assert out == ["run", "--volume", "/var", "img"]


def test_the_shim_drops_privileged_from_exec_and_leaves_other_commands_alone() -> None:
    assert _shim("exec", "--privileged", "-i", "node", "ctr", "images") == ["exec", "-i", "node", "ctr", "images"]
    assert _shim("ps", "--privileged") == ["ps", "--privileged"]


def test_kind_finds_the_shim_first_and_the_engine_by_its_socket(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "state", tmp_path / "store")
    env = kind.env(layout, {"PATH": "/usr/bin", "DOCKER_HOST": "tcp://x", "KUBECONFIG": "/k", "KIND_CLUSTER_NAME": "y"})
    assert Path(env["PATH"].split(":")[0], "docker").resolve() == kind.SHIM.resolve()
    assert env["DOCKER_HOST"] == f"unix://{layout.docker_sock}"
    assert env["KIND_EXPERIMENTAL_PROVIDER"] == "docker"
    assert "KUBECONFIG" not in env
    assert "KIND_CLUSTER_NAME" not in env
