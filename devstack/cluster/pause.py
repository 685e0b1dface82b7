"""The pause binary, every pod's sandbox process: C (`build/pause/linux/pause.c` of the kubernetes module),
compiled once with `gcc -static` into ~/.cache/orderflow/pause-<version>/bin/."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from devstack.cache import ToolMissing, cache_dir
from devstack.cluster.build import BuildError, Log, build_lock, module_source
from devstack.cluster.gotool import GoTool


def pause_binary(kubernetes: GoTool) -> Path:
    return cache_dir("pause", kubernetes.version) / "bin" / "pause"


def pause_argv(source: Path, out: Path, version: str) -> list[str]:
    return ["gcc", "-Os", "-static", "-Wall", "-Werror", f"-DVERSION={version}", "-o", str(out), str(source)]


def ensure_pause(kubernetes: GoTool, log: Log = print) -> Path:
    """Every pod's sandbox binary, from the kubernetes module's own source; needs gcc and a static libc."""
    binary = pause_binary(kubernetes)
    if binary.exists():
        return binary
    if shutil.which("gcc") is None:
        raise ToolMissing("`gcc` was not found; it compiles the pause binary. Fix: scripts/install-node.sh")
    with build_lock():
        source = module_source(kubernetes) / "build/pause/linux/pause.c"
        binary.parent.mkdir(parents=True, exist_ok=True)
        partial = binary.with_suffix(".partial")
        done = subprocess.run(pause_argv(source, partial, kubernetes.version), capture_output=True, text=True)
        if done.returncode != 0:
            raise BuildError(f"gcc of {source} failed: {done.stderr.strip()} (static libc: apt-get install libc6-dev)")
        subprocess.run(["strip", str(partial)], check=False)
        partial.replace(binary)
        log(f"built pause {kubernetes.version} (gcc -static)")
    return binary
