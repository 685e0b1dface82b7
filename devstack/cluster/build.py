"""Builds the pinned kube-apiserver, etcd and helm binaries from Go module sources, once, into the cache.

Everything lives under ~/.cache/orderflow/k8s-<version>/ (bin/, gopath/, src/, logs/), never in the
repository, so bumping the Kubernetes pin starts a fresh folder and the old one can simply be deleted. A cold
build takes ~8 minutes on 2 cores; later calls only check stamp files.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from devstack.cache import ToolMissing, cache_dir

# Kubernetes 1.37's own default etcd is 3.7 (kubeadm's DefaultEtcdVersion), so etcd follows its minor line.
KUBERNETES_VERSION = "v1.37.2"
ETCD_VERSION = "v3.7.3"
HELM_VERSION = "v4.3.1"
# The three modules declare `go 1.26.0`; an older toolchain would try to download a newer one.
MIN_GO = (1, 26)
# Bump when the way a binary is built changes (flags, stamps) so cached binaries get rebuilt.
RECIPE = 2

Log = Callable[[str], None]

_PINS = (
    ("kube-apiserver", "k8s.io/kubernetes", KUBERNETES_VERSION),
    ("etcd", "go.etcd.io/etcd/server/v3", ETCD_VERSION),
    ("helm", "helm.sh/helm/v4", HELM_VERSION),
)


class BuildError(RuntimeError):
    """`go build` failed; the message carries the tail of the build log and its path."""


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    etcd: Path
    helm: Path


@dataclass(frozen=True)
class GoTool:
    """One binary to build: the module to require, the main package in it, and its version stamps."""

    name: str
    module: str
    version: str
    package: str
    ldflags_x: dict[str, str] = field(default_factory=dict)
    replaces: dict[str, str] = field(default_factory=dict)

    @property
    def stamp(self) -> str:
        return _stamp(self.module, self.version)


def _stamp(module: str, version: str) -> str:
    return f"{module}@{version} recipe={RECIPE}"


def k8s_home() -> Path:
    return cache_dir("k8s", KUBERNETES_VERSION)


def bin_dir() -> Path:
    return k8s_home() / "bin"


def find_go() -> str:
    """The `go` command, checked to be new enough; the official tarball's path counts when not on PATH."""
    go = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", str(Path.home() / "go/bin/go")) if os.access(p, os.X_OK)), None
    )
    fix = f"install Go >= {MIN_GO[0]}.{MIN_GO[1]} (https://go.dev/doc/install) and put it on PATH"
    if go is None:
        raise ToolMissing(f"`go` was not found; it is needed to build kube-apiserver, etcd and helm. Fix: {fix}")
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False).stdout
    found = re.match(r"go(\d+)\.(\d+)", out.strip())
    if found is None or (int(found[1]), int(found[2])) < MIN_GO:
        raise ToolMissing(f"`{go}` is {out.strip() or 'unusable'}, too old to build these pins. Fix: {fix}")
    return go


def go_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GOPATH=str(home / "gopath"),
        GOMODCACHE=str(home / "gopath" / "pkg" / "mod"),
        GOCACHE=str(home / "gocache"),
        # Static binaries that need no C toolchain; the apiserver and etcd are pure Go.
        CGO_ENABLED="0",
        # Never fetch another toolchain behind the user's back: find_go() already checked this one.
        GOTOOLCHAIN="local",
        GOWORK="off",
        GO111MODULE="on",
        # -mod=mod lets `go build` record go.sum entries for the throwaway module itself. -p is left at its
        # default (the CPU count): the compile is CPU bound and a lower value only slows it down.
        GOFLAGS="-mod=mod -buildvcs=false",
    )
    return env


@dataclass(frozen=True)
class _Go:
    """Runs `go` with the cache's environment, appending all its chatter to one log file."""

    exe: str
    env: dict[str, str]
    log_file: Path

    def run(self, args: list[str], cwd: Path) -> str:
        with self.log_file.open("a") as sink:
            sink.write(f"$ go {' '.join(args)}\n")
            sink.flush()
            proc = subprocess.run(
                [self.exe, *args], cwd=cwd, env=self.env, stdout=subprocess.PIPE, stderr=sink, text=True
            )
        if proc.returncode != 0:
            tail = "\n".join(self.log_file.read_text().splitlines()[-25:])
            raise BuildError(f"`go {args[0]}` failed (exit {proc.returncode}); log: {self.log_file}\n{tail}")
        return proc.stdout

    def download(self, module: str, version: str, cwd: Path) -> dict[str, str]:
        """`go mod download` of one module: the paths of its .info, .mod and unpacked source."""
        info: dict[str, str] = json.loads(self.run(["mod", "download", "-json", f"{module}@{version}"], cwd))
        return info


def _staging_replaces(go_mod: str, version: str) -> dict[str, str]:
    """k8s.io/kubernetes requires its staging modules at v0.0.0 and points them at ./staging with `replace`.

    Replace directives of a dependency are ignored, so the building module must map each one to its published
    tag: k8s.io/kubernetes v1.X.Y ships k8s.io/<staging> v0.X.Y.
    """
    staging = "v0." + version.removeprefix("v1.")
    return {m: staging for m in re.findall(r"^\s+(k8s\.io/[\w.-]+) v0\.0\.0$", go_mod, re.M)}


def _kube_apiserver(go: _Go, cwd: Path) -> GoTool:
    info = go.download("k8s.io/kubernetes", KUBERNETES_VERSION, cwd)
    released = json.loads(Path(info["Info"]).read_text())["Time"]
    major, minor, _ = KUBERNETES_VERSION.removeprefix("v").split(".")
    # What hack/lib/version.sh stamps; the release time stands in for the build date so builds are repeatable,
    # and the commit, which a module download does not tell, is left empty rather than "$Format:%H$".
    stamps = {"gitVersion": KUBERNETES_VERSION, "gitMajor": major, "gitMinor": minor, "buildDate": released}
    stamps |= {"gitCommit": "", "gitTreeState": ""}
    ldflags_x = {
        f"{pkg}.{k}": v
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for k, v in stamps.items()
    }
    replaces = _staging_replaces(Path(info["GoMod"]).read_text(), KUBERNETES_VERSION)
    package = "k8s.io/kubernetes/cmd/kube-apiserver"
    return GoTool("kube-apiserver", "k8s.io/kubernetes", KUBERNETES_VERSION, package, ldflags_x, replaces)


def _etcd() -> GoTool:
    # etcd's version is a constant in go.etcd.io/etcd/api/v3/version; only its git SHA is a linker variable,
    # and a module download does not know the commit.
    return GoTool("etcd", "go.etcd.io/etcd/server/v3", ETCD_VERSION, "go.etcd.io/etcd/server/v3")


def _helm() -> GoTool:
    ldflags_x = {"helm.sh/helm/v4/internal/version.version": HELM_VERSION}
    return GoTool("helm", "helm.sh/helm/v4", HELM_VERSION, "helm.sh/helm/v4/cmd/helm", ldflags_x)


def _write_module(src: Path, tool: GoTool) -> None:
    """A throwaway main module that only requires the tool's module, so `go build <package>` resolves it."""
    src.mkdir(parents=True, exist_ok=True)
    lines = [
        f"module orderflow.local/k8s-build/{tool.name}",
        "",
        "go 1.26",
        "",
        f"require {tool.module} {tool.version}",
    ]
    if tool.replaces:
        lines += ["", "replace (", *(f"\t{m} => {m} {v}" for m, v in sorted(tool.replaces.items())), ")"]
    (src / "go.mod").write_text("\n".join(lines) + "\n")


def _build(go: _Go, tool: GoTool, home: Path) -> None:
    src = home / "src" / tool.name
    _write_module(src, tool)
    out = bin_dir() / f".{tool.name}.tmp"
    ldflags = " ".join(["-s", "-w", *(f"-X '{k}={v}'" for k, v in sorted(tool.ldflags_x.items()))])
    go.run(["build", "-trimpath", "-ldflags", ldflags, "-o", str(out), tool.package], cwd=src)
    # Rename last, so an interrupted build never leaves a binary that later runs would trust.
    out.replace(bin_dir() / tool.name)
    (bin_dir() / f".{tool.name}.stamp").write_text(tool.stamp)


@contextlib.contextmanager
def _build_lock(home: Path) -> Iterator[None]:
    # Two test sessions building at once would race on the same output files.
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _is_current(name: str, module: str, version: str) -> bool:
    binary, stamp_file = bin_dir() / name, bin_dir() / f".{name}.stamp"
    return binary.exists() and stamp_file.exists() and stamp_file.read_text() == _stamp(module, version)


def ensure_binaries(log: Log = print) -> Binaries:
    """Paths of the three binaries, building whichever is missing or was built from another pin."""
    home = k8s_home()
    binaries = Binaries(bin_dir() / "kube-apiserver", bin_dir() / "etcd", bin_dir() / "helm")
    # The fast path neither runs go nor touches the network: the pins and the recipe alone decide.
    if all(_is_current(*pin) for pin in _PINS):
        return binaries
    exe = find_go()
    with _build_lock(home):
        bin_dir().mkdir(parents=True, exist_ok=True)
        (home / "logs").mkdir(exist_ok=True)
        go = _Go(exe, go_env(home), home / "logs" / "build.log")
        # Resolving the apiserver's pins downloads k8s.io/kubernetes, which its build needs anyway.
        for tool in (_kube_apiserver(go, home), _etcd(), _helm()):
            if not _is_current(tool.name, tool.module, tool.version):
                log(f"building {tool.name} {tool.version} from Go sources, once (log: {go.log_file})")
                started = time.monotonic()
                _build(go, tool, home)
                log(f"built {tool.name} in {time.monotonic() - started:.0f}s")
        # The compiled-package cache is ~4 GB and only helps a rebuild, which happens when a pin changes and
        # mostly recompiles anyway; the module downloads (gopath/) are kept.
        shutil.rmtree(home / "gocache", ignore_errors=True)
    return binaries
