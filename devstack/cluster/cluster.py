"""The local cluster: kind on the machine's container engine, from the project's own node image.

`up` starts the engine (dockerd.py), builds what is missing (the Go tools, the node image: cached), creates the
kind cluster (one control plane and two workers by default) or reuses the one that runs, waits until every node
is Ready with its CNI, DNS and storage, writes the kubeconfig and routes the service range to the control
plane. `down` deletes the cluster, stops the engine and cleans the machine. A failure names the component and
where its logs are (`kind export logs`).
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from devstack.cluster import dockerd, kind
from devstack.cluster.build import ensure_tools
from devstack.cluster.daemons import Runner
from devstack.cluster.nodeimage import ensure_node_image
from devstack.cluster.tools import CLUSTER_TOOLS, KUBERNETES
from devstack.images.engine import Engine
from devstack.kafka.broker import LocalBroker

Log = Callable[[str], None]
# What a cluster needs before workloads run, each as (namespace, kind/name): the CNI on every node, cluster DNS,
# the default storage.
SYSTEM = (
    ("kube-system", "daemonset/kube-router"),
    ("kube-system", "daemonset/kube-proxy"),
    ("kube-system", "deployment/coredns"),
    ("local-path-storage", "deployment/local-path-provisioner"),
)


class ClusterError(RuntimeError):
    """The cluster could not be brought up or used; the message names the component and its logs."""


@dataclass(frozen=True)
class Cluster:
    layout: dockerd.Layout
    name: str = kind.CLUSTER

    @property
    def kubeconfig(self) -> Path:
        return self.layout.state / "kubeconfig"

    @property
    def engine(self) -> Engine:
        return self.layout.engine

    @property
    def logs(self) -> Path:
        return self.layout.state / "logs"

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """`base` (default: this process's environment) with what a shell needs to use this cluster: KUBECONFIG,
        the engine, kind, kubectl and helm on PATH."""
        return {**kind.env(self.layout, base), "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 300) -> str:
        argv = [str(KUBERNETES.binary("kubectl")), f"--kubeconfig={self.kubeconfig}", *args]
        done = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args[:3])} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json"))

    def apply(self, manifests: list[dict[str, Any]]) -> None:
        document = json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests})
        self.kubectl(
            "apply", "--server-side", "--force-conflicts", "--field-manager=orderflow", "-f", "-", input=document
        )

    def nodes(self) -> list[kind.NodeInfo]:
        return kind.nodes(self.layout, self.name)

    def load(self, refs: list[str]) -> set[str]:
        """Images of the engine into the nodes that run workloads (the workers; the control plane when it is
        alone, since only then does it take pods); those every one had already (kind copies only the others)."""
        found = self.nodes()
        workers = [n.name for n in found if n.role == "worker"]
        return kind.load(self.layout, self.name, refs, workers or [n.name for n in found])

    def running(self) -> bool:
        found = self.nodes()
        return bool(found) and all(node.running for node in found)

    def async_client(self, timeout: float = 30.0) -> httpx.AsyncClient:
        """The API as the kubeconfig's cluster-admin, for code that watches or polls it."""
        config = yaml.safe_load(self.kubeconfig.read_text())
        server = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        folder = self.layout.state / "client"
        folder.mkdir(mode=0o700, exist_ok=True)
        files = {"ca.crt": server["certificate-authority-data"], "tls.crt": user["client-certificate-data"]}
        files["tls.key"] = user["client-key-data"]
        for name, data in files.items():
            (folder / name).write_bytes(base64.b64decode(data))
            (folder / name).chmod(0o600)
        tls = ssl.create_default_context(cafile=str(folder / "ca.crt"))
        tls.load_cert_chain(folder / "tls.crt", folder / "tls.key")
        return httpx.AsyncClient(base_url=server["server"], verify=tls, timeout=timeout, trust_env=False)

    def broker(self) -> LocalBroker:
        """The devstack Kafka broker (Apache Kafka's jars, on this machine) for tests and benches of an external,
        PLAINTEXT Kafka: on the kind network's gateway, the machine's address the nodes' pods reach."""
        network = json.loads(self.engine.docker("network", "inspect", kind.NETWORK).stdout)[0]
        gateway = network["IPAM"]["Config"][0]["Gateway"]
        return LocalBroker(self.broker_dir, port=0, host=gateway)

    @property
    def broker_dir(self) -> Path:
        return self.layout.state / "kafka"


def load(state_dir: Path) -> Cluster | None:
    layout = dockerd.load(state_dir)
    return Cluster(layout) if layout is not None else None


def running() -> Cluster | None:
    """The cluster of this machine's engine, if both run (from any folder)."""
    layout = dockerd.running()
    if layout is None:
        return None
    cluster = Cluster(layout)
    return cluster if cluster.running() else None


def up(state_dir: Path, workers: int = 2, log: Log = print) -> Cluster:
    """Engine, tools and node image (cached), then the cluster (created or reused); every node Ready."""
    began = time.monotonic()
    layout = dockerd.start(state_dir, log=log)
    cluster = Cluster(layout)
    ensure_tools(CLUSTER_TOOLS, log)
    image = ensure_node_image(cluster.engine, log)
    found = cluster.nodes()
    if found and not all(node.running for node in found):
        stopped = [node.name for node in found if not node.running]
        cluster.engine.docker("start", *stopped)  # e.g. after the machine rebooted or a node was stopped
        log(f"started the stopped nodes {', '.join(stopped)}")
    elif not found:
        log(f"creating kind cluster {cluster.name}: 1 control plane, {workers} workers, image {image}")
        try:
            kind.create(layout, cluster.name, image, workers)
        except kind.KindError as error:
            raise ClusterError(f"{error}\n{_exported(cluster)}") from error
    kind.write_kubeconfig(layout, cluster.name, cluster.kubeconfig)
    control_plane = cluster.nodes()[0]
    kind.route_services(control_plane.ip)
    _wait_ready(cluster)
    log(f"cluster {cluster.name} ready ({len(cluster.nodes())} nodes) {time.monotonic() - began:.0f}s after start")
    return cluster


def _exported(cluster: Cluster) -> str:
    into = cluster.logs / f"kind-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        kind.export_logs(cluster.layout, cluster.name, into)
    except kind.KindError as error:
        return f"(kind export logs failed too: {error})"
    return f"the nodes' logs (kubelet.log, containerd.log, journal.log per node): {into}"


def _wait_ready(cluster: Cluster, timeout: float = 300) -> None:
    try:
        _wait_admin(cluster, timeout)
        cluster.kubectl(
            "wait", "--for=condition=Ready", "node", "--all", f"--timeout={int(timeout)}s", timeout=timeout + 30
        )
        for namespace, name in SYSTEM:
            argv = ["-n", namespace, "rollout", "status", name, f"--timeout={int(timeout)}s"]
            cluster.kubectl(*argv, timeout=timeout + 30)
    except (ClusterError, subprocess.TimeoutExpired) as error:
        raise ClusterError(f"{error}\n{_exported(cluster)}") from error


def down(state_dir: Path, log: Log = print) -> bool:
    """Delete the cluster, stop the engine, clean the machine; False when nothing ran."""
    layout = dockerd.load(state_dir)
    if layout is None:
        return False
    cluster = Cluster(layout)
    if Runner.load(layout.state).alive("dockerd"):
        # Stopping needs only the broker's state, not the kind network's address (gone with a killed engine).
        if LocalBroker(cluster.broker_dir).stop():
            log("stopped the devstack Kafka broker")
        if cluster.nodes():
            kind.delete(layout, cluster.name)
            log(f"deleted kind cluster {cluster.name}")
    return dockerd.stop(layout, log)


def _wait_admin(cluster: Cluster, timeout: float) -> None:
    """kubeadm binds kind's admin user (group kubeadm:cluster-admins) during init, and a busy API server's RBAC
    cache can lag the create by seconds: until it answers, every request is Forbidden."""
    deadline = time.monotonic() + timeout
    while cluster.kubectl("auth", "can-i", "list", "nodes", check=False).strip() != "yes":
        if time.monotonic() > deadline:
            raise ClusterError(f"the cluster's admin user may still not list nodes after {timeout:.0f}s")
        time.sleep(1)
