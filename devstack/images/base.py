"""Debian bookworm root filesystems made with mmdebstrap from Debian's packages, cached as tarballs.

Public registries cannot be reached here; Debian's mirror can. Three are declared: the Python base of the
Dockerfiles (PYTHON_IMAGE), the kind node's (devstack.cluster.nodeimage) and a small one with the network tools
that kube-proxy and kube-router call (iptables, ipset, conntrack, ip). Every one gets the machine's extra CA
certificates (a TLS-inspecting proxy's), so pip and uv inside a build trust the same roots.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack.cache import ToolMissing, cache_dir
from devstack.images.engine import Engine, ImageError

SUITE = "bookworm"
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# The machine's own extra roots (a TLS-inspecting proxy's), when it has any, then a lean tree.
HOOKS = (
    'mkdir -p "$1/usr/local/share/ca-certificates"',
    'for c in /usr/local/share/ca-certificates/*.crt; do [ -e "$c" ] &&'
    ' cp "$c" "$1/usr/local/share/ca-certificates/"; done; true',
    'chroot "$1" update-ca-certificates',
    'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
)

Log = Callable[[str], None]


@dataclass(frozen=True)
class Rootfs:
    """One minbase tree: its packages; bump `recipe` when the list or the hooks change, so it is made again."""

    name: str
    packages: tuple[str, ...]
    recipe: int

    @property
    def tar(self) -> Path:
        return cache_dir(self.name, f"{SUITE}-r{self.recipe}") / "rootfs.tar"


PYTHON = Rootfs("base-image", ("python3", "python3-venv", "ca-certificates", "passwd"), 1)
# kind's base image list (images/base/Dockerfile of sigs.k8s.io/kind), less what only NFS, iSCSI and
# fuse-overlayfs need; bookworm because its systemd 252 still boots on cgroup v1, where trixie's refuses.
KIND_NODE = Rootfs(
    "kind-node-rootfs",
    (
        "systemd",
        "conntrack",
        "iptables",
        "nftables",
        "iproute2",
        "ethtool",
        "util-linux",
        "mount",
        "kmod",
        "libseccomp2",
        "pigz",
        "e2fsprogs",
        "bash",
        "ca-certificates",
        "curl",
        "jq",
        "procps",
    ),
    1,
)
NETWORK_TOOLS = Rootfs("netbase-rootfs", ("iptables", "ipset", "conntrack", "iproute2", "ca-certificates"), 1)

PYTHON_IMAGE = "orderflow.local/python:3.11-bookworm"
IMAGE_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    f"ENV SSL_CERT_FILE={CA_BUNDLE}",
    f"ENV PIP_CERT={CA_BUNDLE}",
    f"ENV REQUESTS_CA_BUNDLE={CA_BUNDLE}",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)


def mmdebstrap_argv(out: Path, packages: tuple[str, ...] = PYTHON.packages) -> list[str]:
    """The output must end in .tar: mmdebstrap picks the format from the name (`x.tar.tmp` gives a folder)."""
    assert out.suffix == ".tar", out
    return [
        "mmdebstrap",
        "--variant=minbase",
        f"--include={','.join(packages)}",
        *(f"--customize-hook={hook}" for hook in HOOKS),
        SUITE,
        str(out),
        *MIRRORS,
    ]


def ensure_rootfs(rootfs: Rootfs = PYTHON, log: Log = print) -> Path:
    """The cached tarball of `rootfs` (~80 s and ~220 MB for the Python base the first time)."""
    out = rootfs.tar
    if out.exists():
        return out
    if shutil.which("mmdebstrap") is None:
        raise ToolMissing("`mmdebstrap` was not found; it makes the base images. Fix: sudo scripts/install-node.sh")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name("partial.tar")
    log_file = out.with_name("mmdebstrap.log")
    started = time.monotonic()
    log(f"making the Debian {SUITE} rootfs {rootfs.name} with mmdebstrap, once (log: {log_file})")
    with log_file.open("w") as sink:
        argv = mmdebstrap_argv(partial, rootfs.packages)
        done = subprocess.run(argv, stdout=sink, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-20:])
        raise ImageError(f"mmdebstrap failed (exit {done.returncode}); log {log_file}:\n{tail}")
    partial.replace(out)
    log(f"{rootfs.name} made in {time.monotonic() - started:.0f}s ({out.stat().st_size // 2**20} MB)")
    return out


def ensure_base_images(engine: Engine, log: Log = print) -> str:
    """PYTHON_IMAGE in the engine's dockerd (imported once per image store)."""
    if engine.image_id(PYTHON_IMAGE) is None:
        engine.import_tar(ensure_rootfs(PYTHON, log), PYTHON_IMAGE, IMAGE_CHANGES)
        log(f"imported {PYTHON_IMAGE}")
    return PYTHON_IMAGE
