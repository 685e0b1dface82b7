"""Where the third-party CRDs come from: k8s/vendor/crds.yaml, the manifest this module reads.

The repository keeps no copy of them. Strimzi's are generated from its Maven artifacts (`strimzicrds`); the
Gateway API's and the Prometheus Operator's are files of their Go modules, read from the shared module cache
(`build.module_source`, as KEDA's manifests are).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devstack.cluster.build import module_source
from devstack.cluster.crds import CrdError, read_crds

MANIFEST = Path(__file__).resolve().parents[2] / "k8s" / "vendor" / "crds.yaml"


@dataclass(frozen=True)
class GeneratedFile:
    model: str  # the class the generator writes the CRD from
    sha256: str  # of the release's file, which the generated one must equal


@dataclass(frozen=True)
class MavenCrds:
    """CRDs that a generator from Maven artifacts writes, by file name."""

    name: str
    what: str
    license: str
    artifacts: tuple[str, ...]
    version: str
    files: dict[str, GeneratedFile]


@dataclass(frozen=True)
class ModuleCrds:
    """CRD files of a Go module's source, in one folder of it."""

    name: str
    what: str
    license: str
    module: str
    version: str
    directory: str
    files: tuple[str, ...]

    def paths(self, source: Path) -> list[Path]:
        return [source / self.directory / file for file in self.files]


@dataclass(frozen=True)
class Manifest:
    strimzi: MavenCrds
    modules: dict[str, ModuleCrds]


def _entry(name: str, raw: dict[str, Any]) -> MavenCrds | ModuleCrds:
    def get(key: str) -> Any:
        if key not in raw:
            raise CrdError(f"{MANIFEST.name}: {name} names no {key!r}")
        return raw[key]

    what, license, version = str(get("what")), str(get("license")), str(get("version"))
    if "maven" in raw:
        files = {str(file): GeneratedFile(str(f["model"]), str(f["sha256"])) for file, f in get("files").items()}
        return MavenCrds(name, what, license, tuple(map(str, raw["maven"])), version, files)
    if "go-module" in raw:
        listed = tuple(map(str, get("files")))
        return ModuleCrds(name, what, license, str(raw["go-module"]), version, str(get("directory")), listed)
    raise CrdError(f"{MANIFEST.name}: {name} names neither 'maven' nor 'go-module'")


def parse(text: str) -> Manifest:
    """The manifest's entries; the Maven one is Strimzi's, since the generator's options are Strimzi's own."""
    entries = [_entry(str(name), raw) for name, raw in (yaml.safe_load(text) or {}).items()]
    maven = [entry for entry in entries if isinstance(entry, MavenCrds)]
    if [entry.name for entry in maven] != ["strimzi"]:
        raise CrdError(f"{MANIFEST.name}: expected one Maven entry, strimzi; found {[e.name for e in maven]}")
    return Manifest(maven[0], {entry.name: entry for entry in entries if isinstance(entry, ModuleCrds)})


@functools.cache
def manifest() -> Manifest:
    return parse(MANIFEST.read_text())


def module_crds(name: str) -> list[dict[str, Any]]:
    """The CRDs of one Go-module entry ("gateway-api", "prometheus-operator"), downloaded once into the module cache."""
    entry = manifest().modules[name]
    return read_crds(entry.paths(module_source(entry)))
