"""The local base image: a Debian bookworm rootfs with Python from Debian's packages (mmdebstrap), for the
Dockerfiles' PYTHON_IMAGE.

Public registries cannot be reached here; Debian's mirror can. The machine's extra CA certificates (a TLS
inspecting proxy's) are copied in and SSL_CERT_FILE set, so pip and uv inside a build trust the same roots.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from devstack.cache import ToolMissing, cache_dir
from devstack.images.engine import Engine, ImageError

SUITE = "bookworm"
# Bump when the package list or the hooks change, so the cached rootfs is made again.
RECIPE = 1
PACKAGES = ("python3", "python3-venv", "ca-certificates", "passwd")
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
PYTHON_IMAGE = "orderflow.local/python:3.11-bookworm"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
IMAGE_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    f"ENV SSL_CERT_FILE={CA_BUNDLE}",
    f"ENV PIP_CERT={CA_BUNDLE}",
    f"ENV REQUESTS_CA_BUNDLE={CA_BUNDLE}",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)

Log = Callable[[str], None]


def rootfs_tar() -> Path:
    return cache_dir("base-image", f"{SUITE}-r{RECIPE}") / "rootfs.tar"


def mmdebstrap_argv(out: Path, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """The output must end in .tar: mmdebstrap picks the format from the name (`x.tar.tmp` gives a folder)."""
    assert out.suffix == ".tar", out
    hooks = [
        'mkdir -p "$1/usr/local/share/ca-certificates"',
        # The machine's own extra roots (a TLS-inspecting proxy's), when it has any.
        'for c in /usr/local/share/ca-certificates/*.crt; do [ -e "$c" ] &&'
        ' cp "$c" "$1/usr/local/share/ca-certificates/"; done; true',
        'chroot "$1" update-ca-certificates',
        'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
    ]
    return [
        "mmdebstrap",
        "--variant=minbase",
        f"--include={','.join(packages)}",
        *(f"--customize-hook={hook}" for hook in hooks),
        SUITE,
        str(out),
        *MIRRORS,
    ]


def ensure_rootfs(log: Log = print) -> Path:
    """The cached rootfs tarball (~80 s and ~220 MB the first time)."""
    out = rootfs_tar()
    if out.exists():
        return out
    if shutil.which("mmdebstrap") is None:
        raise ToolMissing("`mmdebstrap` was not found; it makes the base image. Fix: sudo scripts/install-node.sh")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name("partial.tar")
    log_file = out.with_name("mmdebstrap.log")
    started = time.monotonic()
    log(f"making the Debian {SUITE} base rootfs with mmdebstrap, once (log: {log_file})")
    with log_file.open("w") as sink:
        done = subprocess.run(mmdebstrap_argv(partial), stdout=sink, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-20:])
        raise ImageError(f"mmdebstrap failed (exit {done.returncode}); log {log_file}:\n{tail}")
    partial.replace(out)
    log(f"base rootfs made in {time.monotonic() - started:.0f}s ({out.stat().st_size // 2**20} MB)")
    return out


def ensure_base_images(engine: Engine, log: Log = print) -> str:
    """PYTHON_IMAGE in the node's dockerd (imported once per image store)."""
    if engine.image_id(PYTHON_IMAGE) is None:
        engine.import_tar(ensure_rootfs(log), PYTHON_IMAGE, IMAGE_CHANGES)
        log(f"imported {PYTHON_IMAGE}")
    return PYTHON_IMAGE
