"""Builds every Go tool of the local Kubernetes from its module's sources, once, into one shared cache layout.

    ~/.cache/orderflow/go/{mod,build,path}      GOMODCACHE, GOCACHE, GOPATH shared by every build
    ~/.cache/orderflow/go/src/<tool>/go.mod     a throwaway main module that requires the tool's module
    ~/.cache/orderflow/<tool>-<version>/bin/    the binaries, with a .stamp naming module, version and recipe
    ~/.cache/orderflow/logs/build-<tool>.log    everything `go` printed

What is built, at which version, is declared in devstack.cluster.tools; what one build is made of, in
devstack.cluster.gotool. Builds run one at a time, under a lock, because each one already uses every core.
Later calls only compare stamp files: no `go`, no network.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from devstack.cache import ToolMissing, cache_dir
from devstack.cluster.gotool import GoTool, build_argv, built_name, go_mod_text, module_replaces, resolved_staging

# The modules declare `go 1.26.0`; an older toolchain would try to download a newer one.
MIN_GO = (1, 26)


Log = Callable[[str], None]


class BuildError(RuntimeError):
    """A build failed; the message carries the tail of the build log and its path."""


def cache_root() -> Path:
    return cache_dir("go", "x").parent


def go_dirs() -> dict[str, Path]:
    root = cache_root() / "go"
    return {"GOMODCACHE": root / "mod", "GOCACHE": root / "build", "GOPATH": root / "path", "src": root / "src"}


def go_env(base: dict[str, str] | None = None, cgo: bool = False) -> dict[str, str]:
    """The environment of every build: the shared caches, static binaries, no toolchain download."""
    env = dict(os.environ if base is None else base)
    env.update({k: str(v) for k, v in go_dirs().items() if k != "src"})
    env.update(
        # Static binaries that need no C toolchain, but for the one tool that is partly C.
        CGO_ENABLED="1" if cgo else "0",
        # Never fetch another toolchain behind the user's back: find_go() already checked this one.
        GOTOOLCHAIN="local",
        GOWORK="off",
        GO111MODULE="on",
        # -mod=mod lets `go build` record go.sum entries for the throwaway module itself.
        GOFLAGS="-mod=mod -buildvcs=false",
    )
    return env


def is_current(tool: GoTool) -> bool:
    stamp = tool.bin_dir / ".stamp"
    return (
        all(tool.binary(name).exists() for name in tool.packages)
        and stamp.exists()
        and stamp.read_text().strip() == tool.stamp
    )


def find_go() -> str:
    """The `go` command, checked to be new enough; the official tarball's path counts when not on PATH."""
    go = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", str(Path.home() / "go/bin/go")) if os.access(p, os.X_OK)), None
    )
    fix = f"install Go >= {MIN_GO[0]}.{MIN_GO[1]} (https://go.dev/doc/install) and put it on PATH"
    if go is None:
        raise ToolMissing(f"`go` was not found; it builds the local Kubernetes' binaries. Fix: {fix}")
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False).stdout
    found = re.match(r"go(\d+)\.(\d+)", out.strip())
    if found is None or (int(found[1]), int(found[2])) < MIN_GO:
        raise ToolMissing(f"`{go}` is {out.strip() or 'unusable'}, too old to build these pins. Fix: {fix}")
    return go


@dataclass(frozen=True)
class _Go:
    """Runs `go` with the shared environment, appending all its chatter to one log file."""

    exe: str
    env: dict[str, str]
    log_file: Path

    def run(self, args: list[str], cwd: Path, check: bool = True) -> str:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("a") as sink:
            sink.write(f"$ go {' '.join(args)}\n")
            sink.flush()
            proc = subprocess.run(
                [self.exe, *args], cwd=cwd, env=self.env, stdout=subprocess.PIPE, stderr=sink, text=True
            )
        if check and proc.returncode != 0:
            tail = "\n".join(self.log_file.read_text().splitlines()[-25:])
            raise BuildError(f"`go {args[0]}` failed (exit {proc.returncode}); log: {self.log_file}\n{tail}")
        return proc.stdout

    def download(self, module: str, version: str, cwd: Path) -> dict[str, str]:
        """`go mod download` of one module: the paths of its .info, .mod and unpacked source."""
        info: dict[str, str] = json.loads(self.run(["mod", "download", "-json", f"{module}@{version}"], cwd))
        return info


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One build at a time on this machine: two would race on the outputs and each uses every core already."""
    path = cache_root() / "go" / ".build.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _resolve(go: _Go, tool: GoTool, src: Path) -> GoTool:
    """What only the module's own go.mod tells: the kubernetes module's replaces and release time (stamps), an
    inheriting tool's replaces."""
    if not (tool.staging or tool.inherit_replaces):
        return tool
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text(f"module orderflow.local/build/{tool.name}\n\ngo 1.26\n")
    info = go.download(tool.module, tool.version, src)
    go_mod = Path(info["GoMod"]).read_text()
    if tool.staging:
        return resolved_staging(tool, go_mod, json.loads(Path(info["Info"]).read_text())["Time"])
    return dataclasses.replace(tool, replaces=module_replaces(go_mod) | tool.replaces)


def _build(go: _Go, tool: GoTool) -> None:
    src = go_dirs()["src"] / tool.name
    tool = _resolve(go, tool, src)
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text(go_mod_text(tool))
    for stale in src.glob("*.go"):
        stale.unlink()
    for file in sorted(tool.source.glob("*.go")) if tool.source is not None else ():
        shutil.copy2(file, src / file.name)
    partial = tool.home / ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    go.run(build_argv(tool, partial), cwd=src)
    # Move last, so an interrupted build never leaves a binary that later runs would trust.
    tool.bin_dir.mkdir(parents=True, exist_ok=True)
    for name in tool.packages:
        (partial / built_name(tool, name)).replace(tool.binary(name))
    partial.rmdir()
    (tool.bin_dir / ".stamp").write_text(tool.stamp + "\n")


def ensure_tools(tools: Sequence[GoTool], log: Log = print) -> None:
    """Build whichever tool is missing or was built from another pin, one after the other."""
    if all(is_current(tool) for tool in tools):  # the fast path neither runs go nor touches the network
        return
    exe = find_go()
    for tool in tools:
        # The lock is taken per tool, so a caller waiting for the first tools goes on while a background builder
        # (tests/support/prebuild.py) builds the later ones.
        with build_lock():
            if is_current(tool):  # another process may have built it while this one waited for the lock
                continue
            env = go_env(cgo=tool.cgo) | ({"GONOSUMDB": tool.module} if tool.nosumdb else {})
            go = _Go(exe, env, cache_root() / "logs" / f"build-{tool.name}.log")
            log(f"building {tool.name} {tool.version} from Go sources, once (log: {go.log_file})")
            started = time.monotonic()
            _build(go, tool)
            log(f"built {tool.name} {tool.version} in {time.monotonic() - started:.0f}s")


class GoModule(Protocol):
    """A module at a version and the name of its folder under go/src: a GoTool, or a module only read from."""

    @property
    def name(self) -> str: ...
    @property
    def module(self) -> str: ...
    @property
    def version(self) -> str: ...


def module_source(tool: GoModule) -> Path:
    """The unpacked source of the module in the shared module cache (fetched once), for files a module ships
    beside its code: KEDA's manifests and CRDs, the Gateway API's and Prometheus Operator's CRDs.

    A module whose go.mod asks for a newer Go than this one (gateway-api v1.7.0 says 1.27) is downloaded, verified
    and unpacked all the same: `go mod download` then only refuses it for building, exits 1 and leaves Dir out of
    its answer, which `go list -m` gives.
    """
    src = go_dirs()["src"] / tool.name
    src.mkdir(parents=True, exist_ok=True)
    if not (src / "go.mod").exists():
        (src / "go.mod").write_text(f"module orderflow.local/build/{tool.name}\n\ngo 1.26\n")
    go = _Go(find_go(), go_env(), cache_root() / "logs" / f"build-{tool.name}.log")
    spec = f"{tool.module}@{tool.version}"
    answer: dict[str, str] = json.loads(go.run(["mod", "download", "-json", spec], src, check=False) or "{}")
    info = answer
    if "Dir" not in answer and "requires go >=" in answer.get("Error", ""):
        info = json.loads(go.run(["list", "-m", "-json", spec], src))
    if "Dir" not in info:
        raise BuildError(f"`go mod download {spec}` failed: {answer.get('Error', 'no answer')} (log: {go.log_file})")
    return Path(info["Dir"])
