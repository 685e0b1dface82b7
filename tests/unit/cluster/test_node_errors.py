"""The node's one-line failures: not root, a port taken, a daemon that dies during start-up (naming its log)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devstack.cache import ToolMissing
from devstack.cluster import host
from devstack.cluster import nodeconfig as cfg
from devstack.cluster.controlplane import ClusterError
from devstack.cluster.node import Node, Spec


@pytest.fixture
def node(tmp_path: Path) -> Node:
    layout = cfg.Layout(tmp_path / "state", tmp_path / "store")
    layout.state.mkdir(parents=True)
    return Node(layout, cfg.Network("127.0.0.1", "test"))


def test_not_root_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(host.NotRoot, match=r"^orderflow k8s up --node must run as root .*; try sudo$"):
        host.require_root("orderflow k8s up --node")


def test_missing_packages_name_the_install_script() -> None:
    with pytest.raises(ToolMissing, match=r"missing Debian packages: docker\.io\. Fix: sudo scripts/install-node.sh"):
        host.require_programs({"/nonexistent/dockerd": "docker.io", "sh": "dash"})


def test_a_taken_port_names_the_component_and_does_not_start_it(node: Node) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        spec = Spec("kube-scheduler", ["/bin/sleep", "60"], {"secure": ("127.0.0.1", port)})
        with pytest.raises(ClusterError, match=rf"^port {port} \(kube-scheduler secure\) on 127\.0\.0\.1 is taken"):
            node._start(spec, print)
    assert "kube-scheduler" not in node.components


def test_a_daemon_dying_during_start_up_names_its_log(node: Node) -> None:
    spec = Spec("etcd", ["/bin/sh", "-c", "echo 'member has already been bootstrapped' >&2; exit 1"], {})
    node._start(spec, print)
    log_file = node.layout.logs / "etcd.log"
    with pytest.raises(ClusterError) as failed:
        node.wait("etcd", lambda: False, timeout=30)
    first, *rest = str(failed.value).splitlines()
    assert first == f"etcd exited during start-up; see {log_file}:"
    assert "member has already been bootstrapped" in rest[-1]
    assert (node.layout.state / "node.json").exists(), "its pid was recorded before it was waited for"


def test_a_daemon_that_never_answers_times_out_naming_its_log(node: Node) -> None:
    node._start(Spec("kubelet", ["/bin/sleep", "30"], {}), print)
    try:
        with pytest.raises(ClusterError, match=r"^kubelet was not ready after 1s; see .*kubelet\.log"):
            node.wait("kubelet", lambda: False, timeout=1)
    finally:
        node._children["kubelet"].kill()
        node._children["kubelet"].wait()
