"""Builds every Go tool of the local Kubernetes from its module's sources, once, into one shared cache layout.

    ~/.cache/orderflow/go/{mod,build,path}      GOMODCACHE, GOCACHE, GOPATH shared by every build
    ~/.cache/orderflow/go/src/<tool>/go.mod     a throwaway main module that requires the tool's module
    ~/.cache/orderflow/<tool>-<version>/bin/    the binaries, with a .stamp naming module, version and recipe
    ~/.cache/orderflow/logs/build-<tool>.log    everything `go` printed

The six Kubernetes binaries come from one `go build` so they share their compilation (kubelet alone takes ~10
minutes cold on 2 cores; the other five add little). Builds run one at a time, under a lock, because each one
already uses every core. The pause image's binary is C (`build/pause/linux/pause.c` of the kubernetes module),
compiled with `gcc -static`. Later calls only compare stamp files: no `go`, no network.
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

# Kubernetes 1.37's own default etcd is 3.7 (kubeadm's DefaultEtcdVersion), so etcd follows its minor line.
KUBERNETES_VERSION = "v1.37.2"
ETCD_VERSION = "v3.7.3"
HELM_VERSION = "v4.3.1"
COREDNS_VERSION = "v1.15.0"
# v0.38.2 works against Debian's dockerd 20.10 (API 1.41) with the default "docker" driver (tried).
BUILDX_VERSION = "v0.38.2"
REGISTRY_VERSION = "v3.1.0"
CRICTL_VERSION = "v1.37.0"
# The developer loop and the observability of the local cluster (see each tool below for why that version).
SKAFFOLD_VERSION = "v2.19.0"
COMPOSE_VERSION = "v2.40.3"
PROMETHEUS_VERSION = "v0.316.0"  # the Go module of Prometheus 3.16.0
JAEGER_VERSION = "v1.76.0"  # the module's tags stay v1; cmd/jaeger is Jaeger v2 (2.13.0)
KEDA_VERSION = "v2.21.0"
# The collector release Jaeger v1.76.0 is built on (core v0.140.0, stable modules v1.46.0, contrib v0.140.1): the
# two builds then share compiled packages, and the chart's collector speaks what its Jaeger does.
OTELCOL_VERSION = "v0.140.0"
OTELCOL_STABLE_VERSION = "v1.46.0"
OTELCOL_CONTRIB_VERSION = "v0.140.1"
# The modules declare `go 1.26.0`; an older toolchain would try to download a newer one.
MIN_GO = (1, 26)
# Bump when the way a binary is built changes (flags, stamps) so cached binaries get rebuilt.
RECIPE = 3

KUBERNETES_COMMANDS = (
    "kubelet",
    "kube-proxy",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-apiserver",
    "kubectl",
)

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


def go_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every build: the shared caches, static binaries, no toolchain download."""
    env = dict(os.environ if base is None else base)
    env.update({k: str(v) for k, v in go_dirs().items() if k != "src"})
    env.update(
        # Static binaries that need no C toolchain; every tool here runs as pure Go.
        CGO_ENABLED="0",
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


def kubernetes_tool(go_mod: str = "", released: str = "") -> GoTool:
    """The six binaries in one build. Without the module's go.mod (the fast path) only names and paths count."""
    packages = {name: f"k8s.io/kubernetes/cmd/{name}" for name in KUBERNETES_COMMANDS}
    return GoTool(
        "kubernetes",
        "k8s.io/kubernetes",
        KUBERNETES_VERSION,
        packages,
        kubernetes_stamps(KUBERNETES_VERSION, released) if released else {},
        staging_replaces(go_mod, KUBERNETES_VERSION) if go_mod else {},
    )


# etcd's version is a constant in go.etcd.io/etcd/api/v3/version; only its git SHA is a linker variable.
ETCD = GoTool("etcd", "go.etcd.io/etcd/server/v3", ETCD_VERSION, {"etcd": "go.etcd.io/etcd/server/v3"})
HELM = GoTool(
    "helm",
    "helm.sh/helm/v4",
    HELM_VERSION,
    {"helm": "helm.sh/helm/v4/cmd/helm"},
    {"helm.sh/helm/v4/internal/version.version": HELM_VERSION},
)
COREDNS = GoTool(
    "coredns",
    "github.com/coredns/coredns",
    COREDNS_VERSION,
    {"coredns": "github.com/coredns/coredns"},
    {"github.com/coredns/coredns/coremain.GitCommit": COREDNS_VERSION},
)
BUILDX = GoTool(
    "buildx",
    "github.com/docker/buildx",
    BUILDX_VERSION,
    {"docker-buildx": "github.com/docker/buildx/cmd/buildx"},
    {
        "github.com/docker/buildx/version.Version": BUILDX_VERSION,
        "github.com/docker/buildx/version.Package": "github.com/docker/buildx",
    },
)
REGISTRY = GoTool(
    "registry",
    "github.com/distribution/distribution/v3",
    REGISTRY_VERSION,
    {"registry": "github.com/distribution/distribution/v3/cmd/registry"},
    {"github.com/distribution/distribution/v3/version.version": REGISTRY_VERSION},
)
CRICTL = GoTool(
    "cri-tools",
    "sigs.k8s.io/cri-tools",
    CRICTL_VERSION,
    {"crictl": "sigs.k8s.io/cri-tools/cmd/crictl"},
    {"sigs.k8s.io/cri-tools/pkg/version.Version": CRICTL_VERSION},
)
# skaffold: the proxy serves v2.19.0 (not v2.16.2-v2.21.0), the first whose schema is v4beta13; its go.mod pins
# k8s.io/* v0.33 and buildpacks by replace, and sum.golang.org has no entry for the tag.
SKAFFOLD = GoTool(
    "skaffold",
    "github.com/GoogleContainerTools/skaffold/v2",
    SKAFFOLD_VERSION,
    {"skaffold": "github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold"},
    {"github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version": SKAFFOLD_VERSION},
    inherit_replaces=True,
    nosumdb=True,
)
# Compose v2 as a Docker CLI plugin (cli-plugins/docker-compose), for the compose.yaml of Docker-only users.
COMPOSE = GoTool(
    "compose",
    "github.com/docker/compose/v2",
    COMPOSE_VERSION,
    {"docker-compose": "github.com/docker/compose/v2/cmd"},
    {"github.com/docker/compose/v2/internal.Version": COMPOSE_VERSION},
)
PROMETHEUS = GoTool(
    "prometheus",
    "github.com/prometheus/prometheus",
    PROMETHEUS_VERSION,
    {
        "prometheus": "github.com/prometheus/prometheus/cmd/prometheus",
        "promtool": "github.com/prometheus/prometheus/cmd/promtool",
    },
    {"github.com/prometheus/common/version.Version": "3.16.0"},
    # Only the Kubernetes service discovery the chart's scrape configs use: the cloud SDKs of the other 25
    # mechanisms are a sixth of the packages and a third of the binaries.
    tags=("remove_all_sd", "enable_kubernetes_sd"),
)
JAEGER = GoTool(
    "jaeger",
    "github.com/jaegertracing/jaeger",
    JAEGER_VERSION,
    {"jaeger": "github.com/jaegertracing/jaeger/cmd/jaeger"},
    {"github.com/jaegertracing/jaeger/internal/version.latestVersion": "v2.13.0"},
    inherit_replaces=True,
)
_CORE = "go.opentelemetry.io/collector"
# The chart's collector (orderflow.collector.config): devstack/cluster/otelcol/main.go, the program the collector
# builder would generate for these components.
OTELCOL = GoTool(
    "otelcol",
    f"{_CORE}/otelcol",
    OTELCOL_VERSION,
    {"otelcol": "."},
    {"main.version": OTELCOL_VERSION.removeprefix("v")},
    source=Path(__file__).with_name("otelcol"),
    requires={
        **{
            f"{_CORE}/{name}": OTELCOL_STABLE_VERSION
            for name in ("component", "confmap", "confmap/provider/envprovider", "confmap/provider/fileprovider")
        },
        **{f"{_CORE}/{name}": OTELCOL_STABLE_VERSION for name in ("exporter", "extension", "processor", "receiver")},
        **{
            f"{_CORE}/{name}": OTELCOL_VERSION
            for name in (
                "exporter/debugexporter",
                "exporter/otlpexporter",
                "processor/batchprocessor",
                "processor/memorylimiterprocessor",
                "receiver/otlpreceiver",
                "service",
            )
        },
        "github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension": (
            OTELCOL_CONTRIB_VERSION
        ),
    },
)
# KEDA's operator and metrics API server, for the side-by-side scaler bench: their own module graph (k8s.io/api
# v0.36, never linked with our 1.37 code), which resolves only with KEDA's nexus-proto-annotations replace.
KEDA = GoTool(
    "keda",
    "github.com/kedacore/keda/v2",
    KEDA_VERSION,
    {"keda": "github.com/kedacore/keda/v2/cmd/operator", "keda-adapter": "github.com/kedacore/keda/v2/cmd/adapter"},
    {"github.com/kedacore/keda/v2/version.Version": KEDA_VERSION},
    inherit_replaces=True,
)
KUBERNETES = kubernetes_tool()

# What the bare control plane needs, and what a node needs besides (the registry is optional: --registry).
CONTROL_PLANE_TOOLS: tuple[GoTool, ...] = (KUBERNETES, ETCD, HELM)
NODE_TOOLS: tuple[GoTool, ...] = (KUBERNETES, ETCD, HELM, CRICTL, COREDNS, BUILDX)
ALL_TOOLS: tuple[GoTool, ...] = (*NODE_TOOLS, REGISTRY)


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
    """What only the module's own go.mod tells: the kubernetes tool's replaces and release time (stamps), an
    inheriting tool's replaces."""
    if tool.name != "kubernetes" and not tool.inherit_replaces:
        return tool
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text(f"module orderflow.local/build/{tool.name}\n\ngo 1.26\n")
    info = go.download(tool.module, tool.version, src)
    go_mod = Path(info["GoMod"]).read_text()
    if tool.name == "kubernetes":
        return kubernetes_tool(go_mod, json.loads(Path(info["Info"]).read_text())["Time"])
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


def ensure_tools(tools: Sequence[GoTool] = CONTROL_PLANE_TOOLS, log: Log = print) -> None:
    """Build whichever tool is missing or was built from another pin, one after the other."""
    if all(is_current(tool) for tool in tools):  # the fast path neither runs go nor touches the network
        return
    exe = find_go()
    with build_lock():
        for tool in tools:
            if is_current(tool):  # another process may have built it while this one waited for the lock
                continue
            env = go_env() | ({"GONOSUMDB": tool.module} if tool.nosumdb else {})
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


def pause_binary() -> Path:
    return cache_dir("pause", KUBERNETES_VERSION) / "bin" / "pause"


def pause_argv(source: Path, out: Path) -> list[str]:
    return ["gcc", "-Os", "-static", "-Wall", "-Werror", f"-DVERSION={KUBERNETES_VERSION}", "-o", str(out), str(source)]


def ensure_pause(log: Log = print) -> Path:
    """The sandbox binary of every pod, from the kubernetes module's own source; needs gcc and a static libc."""
    binary = pause_binary()
    if binary.exists():
        return binary
    if shutil.which("gcc") is None:
        raise ToolMissing("`gcc` was not found; it compiles the pause binary. Fix: scripts/install-node.sh")
    exe = find_go()
    with build_lock():
        go = _Go(exe, go_env(), cache_root() / "logs" / "build-pause.log")
        src = go_dirs()["src"] / "kubernetes"
        src.mkdir(parents=True, exist_ok=True)
        if not (src / "go.mod").exists():
            (src / "go.mod").write_text("module orderflow.local/build/kubernetes\n\ngo 1.26\n")
        source = Path(go.download("k8s.io/kubernetes", KUBERNETES_VERSION, src)["Dir"]) / "build/pause/linux/pause.c"
        binary.parent.mkdir(parents=True, exist_ok=True)
        partial = binary.with_suffix(".partial")
        proc = subprocess.run(pause_argv(source, partial), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BuildError(f"gcc of {source} failed: {proc.stderr.strip()} (static libc: apt-get install libc6-dev)")
        subprocess.run(["strip", str(partial)], check=False)
        partial.replace(binary)
        log(f"built pause {KUBERNETES_VERSION} (gcc -static)")
    return binary


# -- what the bare control plane asks for -------------------------------------------------------------------


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    etcd: Path
    helm: Path
    kubectl: Path


def binaries() -> Binaries:
    return Binaries(
        KUBERNETES.binary("kube-apiserver"), ETCD.binary("etcd"), HELM.binary("helm"), KUBERNETES.binary("kubectl")
    )


def ensure_binaries(log: Log = print) -> Binaries:
    """Paths of the control plane's binaries (and helm, kubectl), building whichever is missing."""
    ensure_tools(CONTROL_PLANE_TOOLS, log)
    return binaries()
