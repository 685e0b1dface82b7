"""Builds every Go tool of the local Kubernetes from its module's sources, once, into one shared cache layout.

    ~/.cache/orderflow/go/{mod,build,path}      GOMODCACHE, GOCACHE, GOPATH shared by every build
    ~/.cache/orderflow/go/src/<tool>/go.mod     a throwaway main module that requires the tool's module
    ~/.cache/orderflow/<tool>-<version>/bin/    the binaries, with a .stamp naming module, version and recipe
    ~/.cache/orderflow/logs/build-<tool>.log    everything `go` printed

What is built, at which version, is declared in devstack.cluster.tools. Builds run one at a time, under a lock,
because each one already uses every core. The pause image's binary is C (`build/pause/linux/pause.c` of the
kubernetes module), compiled with `gcc -static`. Later calls only compare stamp files: no `go`, no network.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from devstack.cache import ToolMissing, cache_dir

# The modules declare `go 1.26.0`; an older toolchain would try to download a newer one.
MIN_GO = (1, 26)
# Bump when the way a binary is built changes (flags, stamps) so cached binaries get rebuilt.
RECIPE = 3


Log = Callable[[str], None]


class BuildError(RuntimeError):
    """A build failed; the message carries the tail of the build log and its path."""


@dataclass(frozen=True)
class GoTool:
    """One `go build`: the module to require, its main packages (one binary each) and the version stamps."""

    name: str  # the cache folder is <name>-<version>
    module: str
    version: str
    packages: dict[str, str]  # binary name -> main package
    ldflags_x: dict[str, str] = field(default_factory=dict)
    # "module" or "module version" -> "module version": the throwaway module's replace directives.
    replaces: dict[str, str] = field(default_factory=dict)
    # Go ignores a dependency's replace directives; a tool whose graph only resolves with them gets them copied.
    inherit_replaces: bool = False
    # The checksum database has no entry for some tags the module proxy serves (skaffold's, e.g.).
    nosumdb: bool = False
    # A main package of our own (its .go files are copied into the throwaway module) and the modules it imports
    # besides `module`, pinned: for a program assembled from libraries, as the OTel collector builder does.
    source: Path | None = None
    requires: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()  # build tags (`go build -tags`)
    # The kubernetes module: its staging modules are required at v0.0.0 and replaced by local paths, and its
    # version stamps come from the release (see `staging_replaces`, `kubernetes_stamps`).
    staging: bool = False
    # Needs C (runc's nsenter, libseccomp); every other tool is pure Go and static.
    cgo: bool = False

    @property
    def stamp(self) -> str:
        stamp = f"{self.module}@{self.version} recipe={RECIPE}" + (f" tags={','.join(self.tags)}" if self.tags else "")
        if self.source is not None:
            digest = hashlib.sha256()
            for file in sorted(self.source.glob("*.go")):
                digest.update(file.name.encode() + b"\0" + file.read_bytes())
            requires = " ".join(f"{m}@{v}" for m, v in sorted(self.requires.items()))
            stamp += f" source={digest.hexdigest()[:16]} requires={requires}"
        return stamp

    @property
    def home(self) -> Path:
        return cache_dir(self.name, self.version)

    @property
    def bin_dir(self) -> Path:
        return self.home / "bin"

    def binary(self, name: str) -> Path:
        return self.bin_dir / name


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


def staging_replaces(go_mod: str, version: str) -> dict[str, str]:
    """k8s.io/kubernetes requires its staging modules at v0.0.0 and points them at ./staging with `replace`.

    Replace directives of a dependency are ignored, so the building module must map each one to its published
    tag: k8s.io/kubernetes v1.X.Y ships k8s.io/<staging> v0.X.Y.
    """
    staging = "v0." + version.removeprefix("v1.")
    return {m: f"{m} {staging}" for m in re.findall(r"^\s+(k8s\.io/[\w.-]+) v0\.0\.0$", go_mod, re.M)}


_REPLACE = re.compile(r"^\s*(?:replace\s+)?(\S+(?: v\S+)?)\s+=>\s+(\S+ v\S+)\s*(?://.*)?$")


def module_replaces(go_mod: str) -> dict[str, str]:
    """A go.mod's replace directives (single lines and blocks) that name a module version; local paths cannot
    be copied into another module and are left out."""
    replaces: dict[str, str] = {}
    in_block = False
    for line in go_mod.splitlines():
        stripped = line.strip()
        if stripped.startswith("replace ("):
            in_block = True
            continue
        if in_block and stripped == ")":
            in_block = False
            continue
        if in_block or stripped.startswith("replace "):
            found = _REPLACE.match(stripped)
            if found:
                replaces[found[1]] = found[2]
    return replaces


def kubernetes_stamps(version: str, released: str) -> dict[str, str]:
    """What hack/lib/version.sh stamps; the release time stands in for the build date so builds repeat, and the
    commit, which a module download does not tell, is left empty rather than "$Format:%H$"."""
    major, minor, _ = version.removeprefix("v").split(".")
    stamps = {"gitVersion": version, "gitMajor": major, "gitMinor": minor, "buildDate": released}
    stamps |= {"gitCommit": "", "gitTreeState": ""}
    return {
        f"{pkg}.{k}": v
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for k, v in stamps.items()
    }


def go_mod_text(tool: GoTool) -> str:
    """A throwaway main module that only requires the tool's module, so `go build <package>` resolves it."""
    lines = [f"module orderflow.local/build/{tool.name}", "", "go 1.26", "", f"require {tool.module} {tool.version}"]
    if tool.requires:
        lines += ["", "require (", *(f"\t{module} {version}" for module, version in sorted(tool.requires.items())), ")"]
    if tool.replaces:
        lines += ["", "replace (", *(f"\t{old} => {new}" for old, new in sorted(tool.replaces.items())), ")"]
    return "\n".join(lines) + "\n"


def build_argv(tool: GoTool, out: Path) -> list[str]:
    """`go build` of every package of the tool at once; with several, -o names a folder (one binary each)."""
    ldflags = " ".join(["-s", "-w", *(f"-X '{k}={v}'" for k, v in sorted(tool.ldflags_x.items()))])
    target = str(out / next(iter(tool.packages))) if len(tool.packages) == 1 else f"{out}/"
    tags = ["-tags", ",".join(tool.tags)] if tool.tags else []
    return ["build", "-trimpath", *tags, "-ldflags", ldflags, "-o", target, *tool.packages.values()]


def built_name(tool: GoTool, name: str) -> str:
    """The file `go build` wrote for binary `name`: itself with one package, else its package's last element."""
    return name if len(tool.packages) == 1 else tool.packages[name].rsplit("/", 1)[-1]


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


def resolved_staging(tool: GoTool, go_mod: str, released: str) -> GoTool:
    """The kubernetes module with its staging modules mapped to their tags and its version stamped (pure)."""
    stamps = tool.ldflags_x | kubernetes_stamps(tool.version, released)
    return dataclasses.replace(tool, ldflags_x=stamps, replaces=staging_replaces(go_mod, tool.version))


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
    with build_lock():
        for tool in tools:
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


# -- the pause binary (C) -------------------------------------------------------------------------------------


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
