"""What ships around the chart: the images' Dockerfiles, skaffold.yaml and the kind end-to-end script.

The images themselves are built and opened by tests/cluster/test_images.py; here the Dockerfiles' public
defaults and COPY lists are checked, skaffold.yaml's image wiring is rendered through the real chart, and
`make e2e-kind` must stop at once with its reason.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.images.app_images import BASES, IMAGES, SERVICES, ImageSpec
from tests.apiserver.helm import CHART, REPO, Helm, named, values_args
from tests.support.dockerfiles import final_stage, instructions

pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(1200)]

SKAFFOLD: dict[str, Any] = yaml.safe_load((REPO / "skaffold.yaml").read_text())


DOCKERFILES = sorted({REPO / spec.dockerfile for spec in IMAGES})


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_dockerfile_is_multi_stage_pinned_locked_and_non_root(dockerfile: Path) -> None:
    # What the real builds (tests/cluster/test_images.py) cannot see: the public defaults a user builds with.
    assert not dockerfile.read_text().startswith("# syntax"), "BuildKit would fetch a frontend image (offline here)"
    steps = instructions(dockerfile)
    args = dict(a.split("=", 1) for op, a in steps if op == "ARG" and "=" in a)
    assert "PYTHON_IMAGE" in args, "the local base is passed through it"
    makefile = dict(re.findall(r"^(UV_VERSION) := (\S+)$", (REPO / "Makefile").read_text(), re.M))
    assert args["UV_VERSION"] == makefile["UV_VERSION"], "the images' uv is the one the lock was made with"
    bases = [args.get(a.split()[0].strip("${}"), a.split()[0]) for op, a in steps if op == "FROM"]
    assert len(bases) == 2, "build and runtime stages"
    for base in bases:
        assert base.partition(":")[2] not in ("", "latest"), f"{base} is not pinned by tag"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", bases[-1])
    syncs = [a for op, a in steps if op == "RUN" and "uv sync" in a]
    assert len(syncs) == 2
    assert "--frozen --no-dev" in syncs[0], "from the lock"
    assert "--no-install-workspace" in syncs[0], "dependencies first: a layer reused until the lock changes"
    assert "--no-editable" in syncs[1]
    # The shared uv cache once leaked the first image's project wheel into the others (issue 10).
    assert "--mount=type=cache" not in syncs[1]
    assert "--no-cache" in syncs[1]
    final = final_stage(steps)
    [user] = [a for op, a in final if op == "USER"]
    assert user == "10001:10001", "a numeric uid, which runAsNonRoot can verify"
    assert [a for op, a in final if op == "COPY"] == ["--from=build /opt/venv /opt/venv"]


@pytest.mark.parametrize("spec", IMAGES, ids=lambda spec: spec.repository)
def test_dockerfile_copies_an_explicit_list_of_existing_paths(spec: ImageSpec) -> None:
    steps = instructions(REPO / spec.dockerfile)
    copies = [a.replace("${SERVICE}", spec.build_args.get("SERVICE", "")).split() for op, a in steps if op == "COPY"]
    sources = [src for parts in copies if not parts[0].startswith("--from") for src in parts[:-1]]
    assert not {".", "./"} & set(sources), "no COPY of the whole context"
    for source in sources:
        assert (REPO / source).exists(), source
    assert "uv.lock" in sources
    own = (
        f"services/{spec.build_args['SERVICE']}/"
        if "SERVICE" in spec.build_args
        else f"{Path(spec.dockerfile).parent}/"
    )
    assert own in sources
    assert not {f"services/{s}/" for s in SERVICES} - {own} & set(sources), "only its own code"


def test_dockerignore_admits_only_what_the_images_copy() -> None:
    rules = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert rules[0] == "**", "deny everything first"
    admitted = {rule.removeprefix("!").rstrip("/") for rule in rules if rule.startswith("!")}
    assert {"pyproject.toml", "uv.lock", "eventkit", "services", "operators", "orderflow"} <= admitted
    assert not {".venv", ".orderflow", ".git", "tests", "devstack"} & admitted


def _sanitized(image: str) -> str:
    return re.sub(r"[/\-.:]", "_", image)


def test_skaffold_builds_the_images_orderflow_k8s_images_builds() -> None:
    assert re.fullmatch(r"skaffold/v4beta\d+", SKAFFOLD["apiVersion"])
    artifacts = {a["image"]: a for a in SKAFFOLD["build"]["artifacts"]}
    assert set(artifacts) == {spec.repository for spec in IMAGES}
    for spec in IMAGES:
        artifact = artifacts[spec.repository]
        assert artifact["context"] == spec.context
        assert artifact["docker"]["dockerfile"] == spec.dockerfile
        # A base image argument comes from the environment (the local base), else it is the Dockerfile's default.
        defaults = dict(
            arg.split("=", 1) for op, arg in instructions(REPO / spec.dockerfile) if op == "ARG" and "=" in arg
        )
        expected = {
            k: f'{{{{ index . "{k}" | default "{defaults[k]}" }}}}' if k in BASES else v
            for k, v in spec.build_args.items()
        }
        assert artifact["docker"].get("buildArgs", {}) == expected


def test_skaffold_uses_no_index_based_patches() -> None:
    def keys(node: Any) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {k for child in node.values() for k in keys(child)}
        if isinstance(node, list):
            return {k for child in node for k in keys(child)}
        return set()

    assert "patches" not in keys(SKAFFOLD)
    assert {p["name"] for p in SKAFFOLD["profiles"]} == {"kind", "ci"}


def _from_environment(template: str, namespace: str) -> str:
    """skaffold's Go template over the environment, for the two forms skaffold.yaml uses: `{{.VAR}}` (set, or
    skaffold fails) and `{{ index . "VAR" | default "x" }}` (x when unset); as `orderflow k8s skaffold` sets it."""
    environment = {"KAFKA_BOOTSTRAP_SERVERS": "10.0.0.5:9092", "SKAFFOLD_NAMESPACE": namespace}
    filled = re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda m: environment[m[1]], template)
    filled = re.sub(
        r'\{\{\s*index \. "(\w+)" \| default "([^"]*)"\s*\}\}', lambda m: environment.get(m[1]) or m[2], filled
    )
    assert "{{" not in filled, f"a template form this test does not know: {template}"
    return filled


def _releases() -> list[tuple[str, dict[str, Any]]]:
    found = [("default", r) for r in SKAFFOLD["deploy"]["helm"]["releases"]]
    for profile in SKAFFOLD["profiles"]:
        found += [(profile["name"], r) for r in profile.get("deploy", {}).get("helm", {}).get("releases", [])]
    return found


@pytest.mark.parametrize(("profile", "release"), _releases(), ids=lambda r: r if isinstance(r, str) else r["name"])
def test_skaffold_release_renders_with_the_built_images(helm: Helm, profile: str, release: dict[str, Any]) -> None:
    chart = REPO / release["chartPath"]
    namespace = _from_environment(release["namespace"], "shop")  # the kind profile's, from the environment
    # What skaffold would pass: each template filled in for the artifact it names, then setValues.
    built = {_sanitized(a["image"]): a["image"] for a in SKAFFOLD["build"]["artifacts"]}
    args: list[str | Path] = []
    for key, template in release["setValueTemplates"].items():
        found = re.findall(r"\{\{\s*\.IMAGE_(REPO|TAG)_(\w+)\s*\}\}", template)
        if not found:  # the operator's scope, from the environment
            args += ["--set-string", f"{key}={_from_environment(template, namespace)}"]
            continue
        [(kind, name)] = found
        assert name in built, f"{key} names no artifact: {template}"
        args += ["--set-string", f"{key}={'registry.local/' + built[name] if kind == 'REPO' else 'e2e-' + name}"]
    for key, value in release.get("setValues", {}).items():
        args += ["--set", f"{key}={value}"]
    for values in release.get("valuesFiles", []):
        args += values_args(REPO / values)
    manifests = helm.template(*args, chart=chart, release=release["name"], namespace=namespace)
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
        ours = [f for f in forwards if _from_environment(f["namespace"], namespace) == namespace]
        for forward in ours:
            target = named(manifests, "Service", forward["resourceName"])
            assert forward["port"] in [p["port"] for p in target["spec"]["ports"]]


def test_kind_profile_deploys_the_local_values_and_forwards_orders_jaeger_and_prometheus() -> None:
    kind = next(p for p in SKAFFOLD["profiles"] if p["name"] == "kind")
    assert kind["activation"] == [{"kubeContext": "kind-orderflow"}]
    forwards = {f["resourceName"]: f["localPort"] for f in kind["portForward"]}
    assert forwards == {"orderflow-orders": 8000, "orderflow-jaeger": 16686, "orderflow-prometheus": 9090}
    [app] = [r for r in kind["deploy"]["helm"]["releases"] if r["chartPath"] == "charts/orderflow"]
    assert app["valuesFiles"] == ["k8s/local-values.yaml", "k8s/observability-values.yaml"]


def test_kind_files_exist_and_parse() -> None:
    cluster = yaml.safe_load((REPO / "k8s" / "kind-cluster.yaml").read_text())
    assert cluster["kind"] == "Cluster"
    assert cluster["name"] == "orderflow"
    assert [n["role"] for n in cluster["nodes"]] == ["control-plane", "worker", "worker"]
    assert "image" not in str(cluster), "the node image is the project's, given by `orderflow k8s up`"
    namespace = yaml.safe_load((REPO / "k8s" / "namespace.yaml").read_text())
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    strimzi = (REPO / "k8s" / "install-strimzi.sh").read_text()
    assert 'STRIMZI_VERSION="${STRIMZI_VERSION:-1.2.0}"' in strimzi


def test_e2e_kind_stops_at_once_without_root() -> None:
    started = time.monotonic()
    script = "exec setpriv --reuid=65534 --regid=65534 --clear-groups k8s/e2e-kind.sh"
    done = subprocess.run(["sh", "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    print(f"e2e-kind stopped after {time.monotonic() - started:.1f}s")  # the subprocess timeout bounds it
    assert done.returncode == 2
    assert "e2e-kind: run as root" in done.stderr, done.stderr
