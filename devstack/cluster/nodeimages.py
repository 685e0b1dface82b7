"""The container images a kind node carries in its containerd, made here from the Go builds.

kubeadm asks for its control-plane, kube-proxy, etcd, CoreDNS and pause images under names it prints itself
(`kubeadm config images list`); a node started from the image never pulls, so they must be there under exactly
those names. They are read from the kubeadm that was built, never written down here, and each is checked against
the version built for it. Most are the one static binary FROM scratch; kube-proxy and kube-router call iptables,
ipset and conntrack, so they sit on a small Debian tree with those tools (`base.NETWORK_TOOLS`), which is also
local-path-provisioner's helper image (it runs `sh`, `mkdir` and `rm`).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from devstack.cluster.build import BuildError
from devstack.cluster.gotool import GoTool
from devstack.cluster.tools import (
    COREDNS,
    ETCD,
    KUBE_ROUTER,
    KUBERNETES,
    LOCAL_PATH,
)

PATH = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NETWORK_TOOLS_IMAGE = "orderflow.local/netbase:bookworm"
KUBE_ROUTER_IMAGE = f"orderflow.local/kube-router:{KUBE_ROUTER.version}"
LOCAL_PATH_IMAGE = f"orderflow.local/local-path-provisioner:{LOCAL_PATH.version}"
CA = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class Component:
    """One image: host files by their path inside it, Dockerfile changes, and the image it sits on (None:
    scratch)."""

    ref: str
    files: dict[str, Path]
    changes: tuple[str, ...] = (PATH,)
    base: str | None = None
    # The kubeadm images: imported with the pinned label, so the kubelet never collects them.
    kubeadm: bool = field(default=False, compare=False)


def kubeadm_images(kubeadm: Path, version: str) -> list[str]:
    argv = [str(kubeadm), "config", "images", "list", f"--kubernetes-version={version}"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"`kubeadm config images list` failed: {done.stderr.strip()}")
    return done.stdout.split()


def _binary(tool: GoTool, name: str) -> dict[str, Path]:
    return {f"usr/local/bin/{name}": tool.binary(name)}


def _check(ref: str, tag: str, expected: str, tool: GoTool) -> None:
    if tag != expected:
        raise BuildError(
            f"kubeadm asks for {ref}, but {tool.name} is pinned at {tool.version} (devstack/cluster/tools.py); "
            f"pin the version kubeadm {KUBERNETES.version} expects"
        )


def kubeadm_component(ref: str, pause: Path) -> Component:
    """The image kubeadm names `ref`, from the binary built for it (pure)."""
    name, _, tag = ref.rsplit("/", 1)[-1].partition(":")
    if name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        _check(ref, tag, KUBERNETES.version, KUBERNETES)
        return Component(ref, _binary(KUBERNETES, name), kubeadm=True)
    if name == "kube-proxy":
        _check(ref, tag, KUBERNETES.version, KUBERNETES)
        return Component(ref, _binary(KUBERNETES, name), base=NETWORK_TOOLS_IMAGE, kubeadm=True)
    if name == "etcd":  # kubeadm tags etcd X.Y.Z-N
        _check(ref, tag.partition("-")[0], ETCD.version.removeprefix("v"), ETCD)
        return Component(ref, _binary(ETCD, name), kubeadm=True)
    if name == "coredns":
        _check(ref, tag, COREDNS.version, COREDNS)
        files = {
            "coredns": COREDNS.binary("coredns"),
            **({"etc/ssl/certs/ca-certificates.crt": CA} if CA.exists() else {}),
        }
        return Component(ref, files, (PATH, 'ENTRYPOINT ["/coredns"]'), kubeadm=True)
    if name == "pause":
        return Component(ref, {"pause": pause}, ('ENTRYPOINT ["/pause"]',), kubeadm=True)
    raise BuildError(f"kubeadm asks for {ref}, which the node image does not know how to make")


def addon_components() -> list[Component]:
    """What the node's default CNI and storage run (devstack.cluster.addons)."""
    return [
        Component(
            KUBE_ROUTER_IMAGE,
            _binary(KUBE_ROUTER, "kube-router"),
            (PATH, 'ENTRYPOINT ["/usr/local/bin/kube-router"]'),
            base=NETWORK_TOOLS_IMAGE,
        ),
        Component(LOCAL_PATH_IMAGE, _binary(LOCAL_PATH, "local-path-provisioner")),
    ]


def pause_ref(refs: list[str]) -> str:
    """kubeadm's pause image: the sandbox image of the node's containerd."""
    found = [ref for ref in refs if ref.rsplit("/", 1)[-1].startswith("pause:")]
    if len(found) != 1:
        raise BuildError(f"kubeadm names no single pause image: {refs}")
    return found[0]
