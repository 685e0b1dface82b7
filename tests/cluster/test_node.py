"""The single node itself: every component running and healthy, idempotent start, DNS and Services from pods,
pods reaching the node IP, restricted Pod Security enforced."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from devstack.cluster import nodeconfig
from devstack.cluster.node import Node, start
from tests.cluster.kube import Images, kubectl_json

pytestmark = [pytest.mark.cluster]

COMPONENTS = [
    "containerd",
    "dockerd",
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
]


@pytest.fixture
def namespace(node: Node) -> Iterator[str]:
    name = f"node-{uuid.uuid4().hex[:6]}"
    node.kubectl("create", "namespace", name)
    node.kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted")
    yield name
    node.kubectl("delete", "namespace", name, "--wait=false")


def test_every_component_runs_and_answers(node: Node) -> None:
    status = node.status()
    assert {name: status[name] for name in COMPONENTS} == dict.fromkeys(COMPONENTS, "running")
    assert status["node"] == "Ready"
    assert status["coredns"] == "ready"


def test_a_second_up_starts_nothing(node: Node) -> None:
    before = {name: c.pid for name, c in node.components.items()}
    started = time.monotonic()
    again = start(node.state_dir, log=print)
    assert {name: c.pid for name, c in again.components.items()} == before
    print(f"second up: nothing started, {time.monotonic() - started:.1f}s")


def test_status_command_names_each_component(node: Node) -> None:
    code = "from devstack.cluster.cli import app; app()"
    done = subprocess.run(
        [sys.executable, "-c", code, "status", "--state-dir", str(node.state_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name in [*COMPONENTS, "node", "coredns"]:
        assert f"  {name}: " in done.stdout


def _run(node: Node, namespace: str, image: str, script: str) -> str:
    """A one-shot restricted pod running `script` with the image's Python; its log."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe", "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "probe",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": ["/opt/venv/bin/python", "-c", script],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }
    node.kubectl("apply", "-f", "-", input=json.dumps(pod))
    node.kubectl(
        "-n", namespace, "wait", "pod/probe", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s", check=False
    )
    phase = kubectl_json(node, "-n", namespace, "get", "pod", "probe")["status"]["phase"]
    logs = node.kubectl("-n", namespace, "logs", "probe")
    assert phase == "Succeeded", logs
    return logs


def _unused_cluster_ip(node: Node) -> str:
    taken = {s["spec"].get("clusterIP") for s in kubectl_json(node, "get", "services", "-A")["items"]}
    ip = ipaddress.ip_network(nodeconfig.SERVICE_CIDR).broadcast_address - 1
    while str(ip) in taken:
        ip -= 1
    return str(ip)


def test_pods_resolve_services_reach_the_api_and_the_node_ip(node: Node, images: Images, namespace: str) -> None:
    # What a ClusterIP that kube-proxy has not programmed (yet) gives: a refusal, never a stranger's answer.
    unused = _unused_cluster_ip(node)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((unused, 4317), timeout=10)
    script = f"""
import socket, ssl, urllib.request
try:
    socket.create_connection(("{unused}", 4317), timeout=10)
except ConnectionRefusedError:
    print("unprogrammed ClusterIP refused")
print("dns", socket.gethostbyname("kubernetes.default.svc.cluster.local"))
context = ssl.create_default_context()
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
try:
    urllib.request.urlopen("https://kubernetes.default.svc/livez", context=context, timeout=10)
except urllib.error.HTTPError as error:
    print("api", error.code)
else:
    print("api", 200)
with socket.create_connection(("{node.net.node_ip}", {nodeconfig.PORTS["kube-apiserver"]}), timeout=10):
    print("node ip reached")
"""
    logs = _run(node, namespace, f"orderflow-orders:{images.tag}", script)
    assert f"dns {nodeconfig.API_SERVICE_IP}" in logs
    assert "api 200" in logs or "api 401" in logs or "api 403" in logs, logs
    assert "node ip reached" in logs
    assert "unprogrammed ClusterIP refused" in logs, logs


def test_restricted_pod_security_rejects_a_root_pod(node: Node, images: Images, namespace: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "root", "namespace": namespace},
        "spec": {"containers": [{"name": "root", "image": f"orderflow-orders:{images.tag}"}]},
    }
    done = subprocess.run(
        [*node_kubectl(node), "apply", "--dry-run=server", "-f", "-"],
        input=json.dumps(pod),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in done.stderr


def node_kubectl(node: Node) -> list[str]:
    from devstack.cluster.build import KUBERNETES

    return [str(KUBERNETES.binary("kubectl")), f"--kubeconfig={node.kubeconfig}"]
