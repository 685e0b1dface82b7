"""What ships around the chart: the images' Dockerfiles, skaffold.yaml and the kind end-to-end script.

No Docker engine runs here, so the Dockerfiles are checked for what the issue asks of them (and their COPY
sources exist), skaffold.yaml's image wiring is rendered through the real chart, and `make e2e-kind` must stop
at once with its reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.cache import cache_dir
from tests.apiserver.helm import CHART, REPO, Helm, named, values_args

pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(1200)]

SERVICES = ("orders", "inventory", "payments")
SKAFFOLD: dict[str, Any] = yaml.safe_load((REPO / "skaffold.yaml").read_text())


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


@pytest.mark.parametrize("service", SERVICES)
def test_service_dockerfile_is_multi_stage_pinned_locked_and_non_root(service: str) -> None:
    steps = _instructions(REPO / "services" / service / "Dockerfile")
    args = dict(a.split("=", 1) for op, a in steps if op == "ARG" and "=" in a)
    bases = [args.get(a.split()[0].strip("${}"), a.split()[0]) for op, a in steps if op == "FROM"]
    assert len(bases) >= 3, "uv, build and runtime stages"
    for base in bases:
        tag = base.partition(":")[2]
        assert tag, f"{base} is not pinned by tag"
        assert tag != "latest", base
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", bases[-1])
    runs = " ".join(a for op, a in steps if op == "RUN")
    assert "uv sync --frozen --no-dev --no-install-project" in runs
    assert "uv sync --frozen --no-dev --no-editable" in runs
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    [user] = [a for op, a in final if op == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit(), "a numeric uid, which runAsNonRoot can verify"
    assert int(uid) >= 1000
    assert [a for op, a in final if op == "COPY"] == ["--from=build /opt/venv /opt/venv"]
    assert f'"{service}"' in next(a for op, a in final if op == "CMD")


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_copies_an_explicit_list_of_existing_paths(service: str) -> None:
    copies = [a.split() for op, a in _instructions(REPO / "services" / service / "Dockerfile") if op == "COPY"]
    sources = [src for parts in copies if not parts[0].startswith("--from") for src in parts[:-1]]
    assert not {".", "./"} & set(sources), "no COPY of the whole context"
    for source in sources:
        assert (REPO / source).exists(), source
    assert f"services/{service}/" in sources
    assert not {f"services/{other}/" for other in SERVICES if other != service} & set(sources), "only its own code"
    assert "uv.lock" in sources


def _uv() -> Path:
    version = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.M)
    assert version is not None
    uv = cache_dir("uv", version.group(1)) / "bin" / "uv"
    if not uv.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{uv} is missing under CI=true (make venv installs it)")
        pytest.skip(f"{uv} is missing: run make venv")
    return uv


@pytest.mark.parametrize("service", SERVICES)
def test_image_build_steps_give_a_working_service_without_dev_dependencies(service: str, tmp_path: Path) -> None:
    # The Dockerfile's build stage without Docker: its COPY list into an empty folder, its `uv sync`, then the
    # commands the chart runs, from outside the repository so that nothing is imported from the checkout.
    steps = _instructions(REPO / "services" / service / "Dockerfile")
    src, venv = tmp_path / "src", tmp_path / "venv"
    build = steps[: max(i for i, (op, _) in enumerate(steps) if op == "FROM")]
    for op, args in build:
        if op == "COPY" and not args.startswith("--from"):
            *sources, target = args.split()
            for source in sources:
                destination = src / target if target not in ("./", ".") else src / Path(source).name
                if (REPO / source).is_dir():
                    shutil.copytree(REPO / source, destination, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(REPO / source, destination)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH", "UV_"))}
    env |= {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never", "UV_NATIVE_TLS": "true"}
    sync = [str(_uv()), "sync", "--frozen", "--no-dev", "--no-editable", "--python", sys.executable]
    synced = subprocess.run(sync, cwd=src, env=env, capture_output=True, text=True, timeout=600)
    assert synced.returncode == 0, synced.stderr

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    migrated = run(str(venv / "bin" / "orderflow"), "migrate", service, "--url", f"sqlite+aiosqlite:///{tmp_path}/db")
    assert migrated.returncode == 0, migrated.stderr
    imported = run(
        str(venv / "bin" / "python"),
        "-c",
        f"import services.{service}.app as a; print(a.__file__)",
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(str(venv)), "imported from the virtualenv, not the checkout"
    for other in set(SERVICES) - {service}:
        assert run(str(venv / "bin" / "python"), "-c", f"import services.{other}").returncode != 0, other
    for dev_only in ("pytest", "mypy", "hypothesis", "ruff"):
        assert run(str(venv / "bin" / "python"), "-c", f"import {dev_only}").returncode != 0, f"{dev_only} installed"


def test_dockerignore_admits_only_what_the_images_copy() -> None:
    rules = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert rules[0] == "**", "deny everything first"
    admitted = {rule.removeprefix("!").rstrip("/") for rule in rules if rule.startswith("!")}
    assert {"pyproject.toml", "uv.lock", "README.md", "orderflow", "eventkit", "services"} <= admitted
    assert not {".venv", ".orderflow", ".git", "tests"} & admitted


def _sanitized(image: str) -> str:
    return re.sub(r"[/\-.:]", "_", image)


def test_skaffold_builds_one_artifact_per_image() -> None:
    assert re.fullmatch(r"skaffold/v4beta\d+", SKAFFOLD["apiVersion"])
    artifacts = {a["image"]: a for a in SKAFFOLD["build"]["artifacts"]}
    dockerfiles = {f"orderflow-{s}": REPO / "services" / s / "Dockerfile" for s in SERVICES}
    dockerfiles["orderflow-operator"] = REPO / "operators" / "Dockerfile"
    assert set(artifacts) == set(dockerfiles)
    for image, dockerfile in dockerfiles.items():
        assert artifacts[image]["context"] == "."
        assert REPO / artifacts[image]["docker"]["dockerfile"] == dockerfile


def test_skaffold_uses_no_index_based_patches() -> None:
    def keys(node: Any) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {k for child in node.values() for k in keys(child)}
        if isinstance(node, list):
            return {k for child in node for k in keys(child)}
        return set()

    assert "patches" not in keys(SKAFFOLD)
    assert {p["name"] for p in SKAFFOLD["profiles"]} == {"kind", "ci"}


def _releases() -> list[tuple[str, dict[str, Any]]]:
    found = [("default", r) for r in SKAFFOLD["deploy"]["helm"]["releases"]]
    for profile in SKAFFOLD["profiles"]:
        found += [(profile["name"], r) for r in profile.get("deploy", {}).get("helm", {}).get("releases", [])]
    return found


@pytest.mark.parametrize(("profile", "release"), _releases(), ids=lambda r: r if isinstance(r, str) else r["name"])
def test_skaffold_release_renders_with_the_built_images(helm: Helm, profile: str, release: dict[str, Any]) -> None:
    chart = REPO / release["chartPath"]
    # What skaffold would pass: each template filled in for the artifact it names, then setValues.
    built = {_sanitized(a["image"]): a["image"] for a in SKAFFOLD["build"]["artifacts"]}
    args: list[str | Path] = []
    for key, template in release["setValueTemplates"].items():
        [(kind, name)] = re.findall(r"\{\{\s*\.IMAGE_(REPO|TAG)_(\w+)\s*\}\}", template)
        assert name in built, f"{key} names no artifact: {template}"
        args += ["--set-string", f"{key}={'registry.local/' + built[name] if kind == 'REPO' else 'e2e-' + name}"]
    for key, value in release.get("setValues", {}).items():
        args += ["--set", f"{key}={value}"]
    for values in release.get("valuesFiles", []):
        args += values_args(REPO / values)
    manifests = helm.template(*args, chart=chart, release=release["name"], namespace=release["namespace"])
    images = {
        c["image"] for m in manifests if m["kind"] == "Deployment" for c in m["spec"]["template"]["spec"]["containers"]
    }
    expected = {f"registry.local/{built[n]}:e2e-{n}" for n in built if f"_{n}}}" in str(release["setValueTemplates"])}
    assert expected
    assert expected <= images
    forwards = (
        SKAFFOLD["portForward"]
        if profile == "default"
        else next(p for p in SKAFFOLD["profiles"] if p["name"] == profile).get("portForward", [])
    )
    if chart == CHART:
        for forward in [f for f in forwards if f["namespace"] == release["namespace"]]:
            target = named(manifests, "Service", forward["resourceName"])
            assert forward["port"] in [p["port"] for p in target["spec"]["ports"]]


def test_kind_profile_forwards_orders_grafana_and_jaeger() -> None:
    kind = next(p for p in SKAFFOLD["profiles"] if p["name"] == "kind")
    assert kind["activation"] == [{"kubeContext": "kind-orderflow"}]
    forwards = {f["resourceName"]: f["localPort"] for f in kind["portForward"]}
    assert forwards == {"orderflow-orders": 8000, "orderflow-jaeger": 16686, "kube-prometheus-stack-grafana": 3000}


def test_kind_files_exist_and_parse() -> None:
    cluster = yaml.safe_load((REPO / "k8s" / "kind-cluster.yaml").read_text())
    assert cluster["kind"] == "Cluster"
    assert cluster["name"] == "orderflow"
    namespace = yaml.safe_load((REPO / "k8s" / "namespace.yaml").read_text())
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    strimzi = (REPO / "k8s" / "install-strimzi.sh").read_text()
    assert 'STRIMZI_VERSION="${STRIMZI_VERSION:-1.2.0}"' in strimzi


def test_e2e_kind_stops_at_once_without_a_docker_engine(tmp_path: Path) -> None:
    # A socket nobody listens on stands for "no engine", even on a machine that runs Docker.
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    started = time.monotonic()
    done = subprocess.run(
        ["make", "--no-print-directory", "e2e-kind"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert time.monotonic() - started < 30
    assert done.returncode != 0
    assert re.search(r"e2e-kind: no (Docker engine answers|docker CLI on PATH)", done.stderr), done.stderr
    assert "kind create" not in done.stdout
