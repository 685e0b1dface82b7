"""One Go tool as data, and what its build is made of, without running anything: the throwaway main module that
requires the tool's module (`go_mod_text`), the `go build` line, the kubernetes module's staging replaces and
version stamps, a dependency's replace directives copied into the build."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from devstack.cache import cache_dir

# Bump when the way a binary is built changes (flags, stamps) so cached binaries get rebuilt.
RECIPE = 3


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


def resolved_staging(tool: GoTool, go_mod: str, released: str) -> GoTool:
    """The kubernetes module with its staging modules mapped to their tags and its version stamped (pure)."""
    stamps = tool.ldflags_x | kubernetes_stamps(tool.version, released)
    return dataclasses.replace(tool, ldflags_x=stamps, replaces=staging_replaces(go_mod, tool.version))
