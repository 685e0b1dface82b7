"""The helm CLI built by `orderflow k8s build`, run on charts/ with its own empty config, cache and data dirs."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "orderflow"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
OPERATOR_CRDS = sorted((REPO / "charts" / "orderflow-operator" / "crds").glob("*.yaml"))

Manifest = dict[str, Any]


class HelmFailed(AssertionError):
    """helm exited non-zero; the message carries its stderr."""


@dataclass(frozen=True)
class Helm:
    binary: Path
    home: Path

    def env(self) -> dict[str, str]:
        # No user's repositories, plugins or registry logins leak into a test.
        dirs = {
            name: str(self.home / name.lower()) for name in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME")
        }
        return {**os.environ, **dirs}

    def run(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(self.binary), *(str(a) for a in args)]
        done = subprocess.run(argv, capture_output=True, text=True, env=self.env(), timeout=240)
        if check and done.returncode != 0:
            raise HelmFailed(f"helm {' '.join(argv[1:])} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
        return done

    def template(
        self, *args: str | Path, chart: Path = CHART, release: str = "of", namespace: str = "shop"
    ) -> list[Manifest]:
        out = self.run("template", release, chart, "--namespace", namespace, *args).stdout
        return documents(out)


def documents(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]


def values_args(values_file: Path | None) -> list[str | Path]:
    return ["--values", values_file] if values_file is not None else []


def of_kind(manifests: Iterable[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def named(manifests: Iterable[Manifest], kind: str, name: str) -> Manifest:
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def pod_specs(manifests: Iterable[Manifest]) -> Iterator[tuple[Manifest, dict[str, Any]]]:
    """Every pod spec: of Pods, and of the templates of Deployments, StatefulSets, Jobs."""
    for m in manifests:
        if m["kind"] == "Pod":
            yield m, m["spec"]
        elif m["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
            yield m, m["spec"]["template"]["spec"]


def api_path(client: httpx.Client, manifest: Manifest, namespace: str) -> str:
    """The REST path of an object, resolving its kind to a resource through discovery."""
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    discovery = client.get(base)
    discovery.raise_for_status()
    resource = next(r for r in discovery.json()["resources"] if r["kind"] == kind and "/" not in r["name"])
    scope = f"/namespaces/{namespace}" if resource["namespaced"] else ""
    return f"{base}{scope}/{resource['name']}/{manifest['metadata']['name']}"
