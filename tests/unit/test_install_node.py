"""scripts/install-node.sh decides what is missing from the programs and paths the node needs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "install-node.sh"
COMMANDS = ("containerd", "dockerd", "docker", "runc", "mmdebstrap", "iptables", "ip", "openssl", "gcc")
# The fixed paths the script checks, relative to the file system's root.
CNI_BRIDGE = Path("usr/lib/cni/bridge")
STATIC_LIBC = Path("usr/lib/x86_64-linux-gnu/libc.a")


def _check(tmp_path: Path, *present: Path) -> subprocess.CompletedProcess[str]:
    """`install-node.sh --check` with every command on PATH, iproute2's `bridge` among them, and `present` only."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in (*COMMANDS, "bridge"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    root = tmp_path / "root"
    for path in present:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).touch()
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "INSTALL_NODE_ROOT": str(root)}
    return subprocess.run(["bash", str(SCRIPT), "--check"], env=env, capture_output=True, text=True, check=False)


def test_iproute2s_bridge_command_is_not_the_cni_plugin(tmp_path: Path) -> None:
    # A fresh machine has /usr/sbin/bridge (iproute2) and no /usr/lib/cni: the plugins must be installed.
    checked = _check(tmp_path, STATIC_LIBC)
    assert checked.returncode == 1, checked.stderr
    assert checked.stdout.strip() == "install-node: missing containernetworking-plugins"


@pytest.mark.parametrize("present", [(), (CNI_BRIDGE,)])
def test_each_missing_fixed_path_names_its_package(tmp_path: Path, present: tuple[Path, ...]) -> None:
    checked = _check(tmp_path, *present)
    expected = sorted({"libc6-dev"} | ({"containernetworking-plugins"} if not present else set()))
    assert checked.returncode == 1
    assert checked.stdout.strip() == f"install-node: missing {' '.join(expected)}"


def test_nothing_missing_installs_nothing(tmp_path: Path) -> None:
    checked = _check(tmp_path, CNI_BRIDGE, STATIC_LIBC)
    assert checked.returncode == 0
    assert "already present" in checked.stdout
