"""kind itself, unmodified, on the machine's engine: create, delete and inspect the cluster, load images.

kind runs the first `docker` on its PATH; ours is files/kind-docker.sh (privileged containers cannot start here),
which calls Debian's docker CLI on the engine's socket. The `kind` network is made beforehand, IPv4 only: kind
would otherwise ask for IPv6 and give up on an error it does not expect. From the machine, Services answer on
their cluster IPs: the service range is routed to the control-plane node, whose kube-proxy forwards them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devstack.cluster.dockerd import Layout
from devstack.cluster.tools import HELM, KIND, KUBERNETES

# The cluster's one declaration, also what a person runs `kind create cluster --config` with.
CONFIG = Path(__file__).resolve().parents[2] / "k8s" / "kind-cluster.yaml"
DECLARED: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
CLUSTER: str = DECLARED["name"]
SERVICE_SUBNET: str = DECLARED["networking"]["serviceSubnet"]
NETWORK = "kind"
SHIM = Path(__file__).with_name("files") / "kind-docker.sh"
REAL_DOCKER = "/usr/bin/docker"  # Debian's CLI, of the same release as its dockerd (API 1.41)


class KindError(RuntimeError):
    """kind failed; the message carries its output and where the nodes' logs are."""


def config(name: str, workers: int) -> dict[str, Any]:
    """k8s/kind-cluster.yaml with `workers` workers beside its one control plane."""
    nodes = [{"role": "control-plane"}] + [{"role": "worker"} for _ in range(workers)]
    return {**DECLARED, "name": name, "nodes": nodes}


def shim_dir(layout: Layout) -> Path:
    """A folder whose `docker` is the shim: first on kind's PATH."""
    folder = layout.state / "kind-bin"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "docker"
    if not link.is_symlink() or os.readlink(link) != str(SHIM):
        link.unlink(missing_ok=True)
        link.symlink_to(SHIM)
    return folder


def env(layout: Layout, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """What kind (and a shell using this cluster) runs with: the shim first, then kind, kubectl and helm."""
    base = dict(os.environ if base is None else base)
    tools = [str(shim_dir(layout)), *(str(tool.bin_dir) for tool in (KIND, KUBERNETES, HELM))]
    drop = ("DOCKER_", "KIND_", "KUBECONFIG")
    found = {k: v for k, v in base.items() if not k.startswith(drop)}
    found.update(
        PATH=os.pathsep.join([*tools, base.get("PATH", os.defpath)]),
        DOCKER_HOST=f"unix://{layout.docker_sock}",
        DOCKER_CONFIG=str(layout.docker_config),
        KIND_EXPERIMENTAL_PROVIDER="docker",
        ORDERFLOW_REAL_DOCKER=REAL_DOCKER,
    )
    return found


def run(layout: Layout, *args: str, input: str | None = None, timeout: float = 900) -> str:
    argv = [str(KIND.binary("kind")), *args]
    done = subprocess.run(argv, input=input, capture_output=True, text=True, env=env(layout), timeout=timeout)
    if done.returncode != 0:
        raise KindError(f"kind {' '.join(args[:2])} failed ({done.returncode}):\n{(done.stderr + done.stdout)[-4000:]}")
    return done.stdout


def ensure_network(layout: Layout) -> None:
    engine = layout.engine
    listed = engine.docker("network", "ls", "--filter", f"name=^{NETWORK}$", "--format", "{{.ID}}").stdout
    if not listed.strip():
        masquerade = "com.docker.network.bridge.enable_ip_masquerade=true"
        engine.docker("network", "create", "-d", "bridge", "-o", masquerade, NETWORK)


def clusters(layout: Layout) -> list[str]:
    return run(layout, "get", "clusters").split()


@dataclass(frozen=True)
class NodeInfo:
    name: str
    role: str
    ip: str
    running: bool


def nodes(layout: Layout, name: str) -> list[NodeInfo]:
    """The cluster's node containers, running or stopped, control plane first."""
    engine = layout.engine
    label = f"label=io.x-k8s.kind.cluster={name}"
    ids = engine.docker("ps", "-a", "--filter", label, "--format", "{{.Names}}").stdout.decode().split()
    if not ids:
        return []
    inspected = json.loads(engine.docker("inspect", *ids).stdout)
    found = [
        NodeInfo(
            item["Name"].lstrip("/"),
            item["Config"]["Labels"].get("io.x-k8s.kind.role", ""),
            next((n["IPAddress"] for n in item["NetworkSettings"]["Networks"].values()), ""),
            bool(item["State"]["Running"]),
        )
        for item in inspected
    ]
    return sorted(found, key=lambda n: (n.role != "control-plane", n.name))


def create(layout: Layout, name: str, image: str, workers: int) -> None:
    ensure_network(layout)
    document = yaml.safe_dump(config(name, workers))
    # No --wait: `up` waits for what it needs itself (nodes Ready after the CNI, DNS, storage), with clearer errors.
    run(layout, "create", "cluster", "--name", name, "--image", image, "--config", "-", "--retain", input=document)


def delete(layout: Layout, name: str) -> None:
    run(layout, "delete", "cluster", "--name", name)


def write_kubeconfig(layout: Layout, name: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(run(layout, "get", "kubeconfig", "--name", name))
    path.chmod(0o600)
    return path


ALREADY_PRESENT = re.compile(r'Image: "([^"]+)" with ID "[^"]+" found to be already present on all nodes')


def load(layout: Layout, name: str, refs: list[str], nodes: list[str] | None = None) -> set[str]:
    """`kind load docker-image` into `nodes` (default all), which skips an image every node already has under
    that id; those it skipped."""
    if not refs:
        return set()
    argv = [str(KIND.binary("kind")), "load", "docker-image", "--name", name, *refs]
    if nodes:
        argv += ["--nodes", ",".join(nodes)]

    done = subprocess.run(argv, capture_output=True, text=True, env=env(layout), timeout=900)
    if done.returncode != 0:
        raise KindError(f"kind load docker-image failed ({done.returncode}):\n{(done.stderr + done.stdout)[-4000:]}")
    return set(ALREADY_PRESENT.findall(done.stderr + done.stdout))


def export_logs(layout: Layout, name: str, into: Path) -> Path:
    run(layout, "export", "logs", str(into), "--name", name)
    return into


def route_services(control_plane_ip: str) -> None:
    """Service cluster IPs reach the control-plane node, whose kube-proxy sends them on (and masquerades)."""
    argv = ["ip", "route", "replace", SERVICE_SUBNET, "via", control_plane_ip]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise KindError(f"routing {SERVICE_SUBNET} via {control_plane_ip} failed: {done.stderr.strip()}")
