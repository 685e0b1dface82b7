"""scripts/install-node.sh decides what is missing from the programs and paths the node needs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "install-node.sh"
COMMANDS = (
    "containerd",
    "dockerd",
    "docker",
    "runc",
    "mmdebstrap",
    "iptables",
    "ip",
    "openssl",
    "gcc",
    "pkg-config",
)
# The fixed paths the script checks, relative to the file system's root, and the package each comes from.
STATIC_LIBC = Path("usr/lib/x86_64-linux-gnu/libc.a")
SECCOMP_HEADER = Path("usr/include/seccomp.h")
PACKAGES = {STATIC_LIBC: "libc6-dev", SECCOMP_HEADER: "libseccomp-dev"}


def _check(tmp_path: Path, *present: Path, commands: tuple[str, ...] = COMMANDS) -> subprocess.CompletedProcess[str]:
    """`install-node.sh --check` with `commands` on PATH and only the fixed paths in `present`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in commands:
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    (bin_dir / "sort").symlink_to(shutil.which("sort") or "/usr/bin/sort")
    root = tmp_path / "root"
    for path in present:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).touch()
    # PATH holds only the fake commands (and sort), so a command the machine has in /usr/bin cannot count; the
    # script itself also looks in the sbin folders, so the missing-command cases below use /usr/bin programs.
    bash = Path("/bin/bash").resolve()
    env = {**os.environ, "PATH": str(bin_dir), "INSTALL_NODE_ROOT": str(root)}
    return subprocess.run([str(bash), str(SCRIPT), "--check"], env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("present", [(), (STATIC_LIBC,), (SECCOMP_HEADER,)])
def test_each_missing_fixed_path_names_its_package(tmp_path: Path, present: tuple[Path, ...]) -> None:
    checked = _check(tmp_path, *present)
    expected = sorted(package for path, package in PACKAGES.items() if path not in present)
    assert checked.returncode == 1
    assert checked.stdout.strip() == f"install-node: missing {' '.join(expected)}"


@pytest.mark.parametrize(
    ("command", "packages"),
    [
        ("docker", "docker.io"),
        ("pkg-config", "pkg-config"),
        # mmdebstrap only recommends what it unpacks and verifies Debian's archives with.
        ("mmdebstrap", "ca-certificates gpg libdpkg-perl mmdebstrap mount"),
    ],
)
def test_each_missing_command_names_its_packages(tmp_path: Path, command: str, packages: str) -> None:
    checked = _check(tmp_path, *PACKAGES, commands=tuple(c for c in COMMANDS if c != command))
    assert checked.returncode == 1
    assert checked.stdout.strip() == f"install-node: missing {packages}"


def test_nothing_missing_installs_nothing(tmp_path: Path) -> None:
    checked = _check(tmp_path, *PACKAGES)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "already present" in checked.stdout
