"""The local kind cluster itself: three nodes of the project's image, kind's own commands working on it, a second
`up` that changes nothing but removing containers whose network is gone, `status` and `env`, DNS and the API from a
pod, the default StorageClass, and restricted Pod Security."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from devstack.cluster import kind
from devstack.cluster.cluster import Cluster
from devstack.cluster.nodeimage import REPOSITORY
from devstack.cluster.platform import namespace_manifest
from devstack.cluster.tools import KIND, KUBERNETES
from tests.cluster.kube import Images, kubectl_json

pytestmark = [pytest.mark.cluster]


def _cli(cluster: Cluster, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    code = "from devstack.cluster.cli import app; app()"
    argv = [sys.executable, "-c", code, *args, "--state-dir", str(cluster.layout.state)]
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("apply", "-f", "-", input=json.dumps(namespace_manifest(name)))
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def _role(node: dict[str, Any]) -> str:
    return "control-plane" if "node-role.kubernetes.io/control-plane" in node["metadata"]["labels"] else "worker"


def test_one_control_plane_and_two_workers_of_the_projects_image_are_ready(cluster: Cluster) -> None:
    nodes = kubectl_json(cluster, "get", "nodes")["items"]
    assert sorted(_role(n) for n in nodes) == ["control-plane", "worker", "worker"]
    for node in nodes:
        assert {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"] == "True"
        assert node["status"]["nodeInfo"]["kubeletVersion"] == KUBERNETES.version
        assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://2.")
    inspect = ("inspect", "--format", "{{.Config.Image}}")
    images = {n.name: cluster.engine.docker(*inspect, n.name).stdout.decode().strip() for n in cluster.nodes()}
    assert all(image.startswith(f"{REPOSITORY}:") for image in images.values()), images


def test_kinds_own_commands_work_on_the_cluster(cluster: Cluster) -> None:
    def run(*args: str) -> str:
        argv = [str(KIND.binary("kind")), *args]
        done = subprocess.run(argv, capture_output=True, text=True, env=kind.env(cluster.layout), timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert cluster.name in run("get", "clusters").split()
    assert sorted(run("get", "nodes", "--name", cluster.name).split()) == sorted(n.name for n in cluster.nodes())
    assert yaml.safe_load(run("get", "kubeconfig", "--name", cluster.name))["current-context"] == f"kind-{cluster.name}"


def _orphan(cluster: Cluster) -> str:
    """A stopped container whose network is gone, as an engine killed without `down` leaves its nodes."""
    engine, name = cluster.engine, f"orphan-{uuid.uuid4().hex[:6]}"
    image = engine.docker("inspect", "--format", "{{.Config.Image}}", cluster.nodes()[0].name).stdout.decode()
    engine.docker("network", "create", name)
    engine.docker("create", "--name", name, "--network", name, "--entrypoint", "/bin/true", image.strip())
    engine.docker("start", "--attach", name)
    engine.docker("network", "rm", name)
    started = engine.docker("start", name, check=False)
    assert started.returncode != 0, started
    assert b"not found" in started.stderr, started.stderr
    return name


def test_a_second_up_changes_nothing_but_removing_containers_without_a_network(cluster: Cluster) -> None:
    def ids() -> dict[str, bytes]:
        return {n.name: cluster.engine.docker("inspect", "--format", "{{.Id}}", n.name).stdout for n in cluster.nodes()}

    before = ids()
    orphan = _orphan(cluster)
    began = time.monotonic()
    done = _cli(cluster, "up")
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"a second `orderflow k8s up` took {time.monotonic() - began:.0f}s")
    assert ids() == before, "no node was made again"
    assert "creating kind cluster" not in done.stdout
    assert f"removed 1 containers whose networks are gone ({orphan})" in done.stdout
    assert cluster.engine.docker("ps", "-aq", "--filter", f"name=^{orphan}$").stdout.strip() == b""


def test_the_engines_docker_build_is_buildx_as_skaffold_needs(cluster: Cluster) -> None:
    """skaffold (useBuildkit) runs `docker build --load`, a flag only buildx has; Debian's classic CLI has not."""
    done = subprocess.run(
        ["docker", "build", "--help"], capture_output=True, text=True, env=kind.env(cluster.layout), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "--load" in done.stdout, done.stdout


def test_status_names_every_daemon_and_node_and_env_exports_the_cluster(cluster: Cluster) -> None:
    status = _cli(cluster, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    for name in ("containerd", "dockerd", *(n.name for n in cluster.nodes())):
        assert name in status.stdout
    assert status.stdout.count("Ready=True") == 3
    env = _cli(cluster, "env").stdout
    assert f"export KUBECONFIG={cluster.kubeconfig}" in env
    assert f"export DOCKER_HOST=unix://{cluster.layout.docker_sock}" in env
    assert str(KIND.bin_dir) in env


def _run(cluster: Cluster, namespace: str, image: str, script: str, claim: str | None = None) -> str:
    """A one-shot restricted pod running `script` with the image's Python; its log."""
    container: dict[str, Any] = {
        "name": "probe",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/opt/venv/bin/python", "-c", script],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
    }
    if claim:
        container["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "namespace": namespace}, "spec": spec}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
    succeeded = "--for=jsonpath={.status.phase}=Succeeded"
    cluster.kubectl("-n", namespace, "wait", "pod/probe", succeeded, "--timeout=180s", check=False, timeout=240)
    phase = kubectl_json(cluster, "-n", namespace, "get", "pod", "probe")["status"]["phase"]
    logs = cluster.kubectl("-n", namespace, "logs", "probe", check=False)
    assert phase == "Succeeded", logs + cluster.kubectl("-n", namespace, "describe", "pod", "probe", check=False)
    return logs


def test_pods_resolve_services_and_reach_the_api(cluster: Cluster, images: Images, namespace: str) -> None:
    script = """
import socket, ssl, urllib.request, urllib.error
print("dns", socket.gethostbyname("kubernetes.default.svc.cluster.local"))
context = ssl.create_default_context()
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
try:
    urllib.request.urlopen("https://kubernetes.default.svc/livez", context=context, timeout=10)
except urllib.error.HTTPError as error:
    print("api", error.code)
else:
    print("api", 200)
"""
    logs = _run(cluster, namespace, f"orderflow-orders:{images.tag}", script)
    assert "dns 10.96.0.1" in logs
    assert "api 200" in logs or "api 401" in logs or "api 403" in logs, logs


def test_the_default_storage_class_provisions_a_volume(cluster: Cluster, images: Images, namespace: str) -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}},
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(claim))
    write = "open('/data/x', 'w').write('kept'); print('written')"
    assert "written" in _run(cluster, namespace, f"orderflow-orders:{images.tag}", write, "data")
    bound = kubectl_json(cluster, "-n", namespace, "get", "pvc", "data")
    assert bound["status"]["phase"] == "Bound"
    assert bound["spec"]["storageClassName"] == "standard"


def test_restricted_pod_security_rejects_a_root_pod(cluster: Cluster, images: Images, namespace: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "root", "namespace": namespace},
        "spec": {"containers": [{"name": "root", "image": f"orderflow-orders:{images.tag}"}]},
    }
    kubectl = [str(KUBERNETES.binary("kubectl")), f"--kubeconfig={cluster.kubeconfig}", "apply", "--dry-run=server"]
    done = subprocess.run([*kubectl, "-f", "-"], input=json.dumps(pod), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in done.stderr
