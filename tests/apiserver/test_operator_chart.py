"""charts/orderflow-operator: lint, schema, install into the real API server, least-privilege RBAC checked with
SubjectAccessReviews, the restricted Pod Security profile, and the operator image's build steps."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devstack.cache import cache_dir
from devstack.cluster.controlplane import ControlPlane
from tests.apiserver.helm import REPO, Helm, Manifest, api_path, documents, named

pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(1200)]

CHART = REPO / "charts" / "orderflow-operator"
VALUES = [None, CHART / "ci" / "namespaced-values.yaml"]
DOCKERFILE = REPO / "operators" / "Dockerfile"


def _values(values: Path | None) -> list[str | Path]:
    return ["--values", values] if values else []


@pytest.mark.parametrize("values", VALUES, ids=lambda v: v.name if v else "defaults")
def test_chart_lints_strictly(helm: Helm, values: Path | None) -> None:
    helm.run("lint", "--strict", CHART, *_values(values))


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ("replicas=0", "replicas"),
        ("leaderElection=true", "leaderElection"),
        ("watchNamespaces[0]=Not_A_Namespace", "watchNamespaces"),
        ("image.pullPolicy=Sometimes", "pullPolicy"),
    ],
)
def test_schema_rejects_bad_values_naming_the_key(helm: Helm, override: str, complaint: str) -> None:
    done = helm.run("template", "op", CHART, "--set", override, check=False)
    assert done.returncode != 0
    assert complaint in done.stderr


def _render(helm: Helm, *args: str | Path) -> list[Manifest]:
    return documents(helm.run("template", "orderflow-operator", CHART, "--namespace", "ops", *args).stdout)


def test_pod_is_restricted_and_serves_metrics_and_health(helm: Helm) -> None:
    manifests = _render(helm)
    pod = named(manifests, "Deployment", "orderflow-operator")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    [container] = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert "--all-namespaces" in container["args"]
    assert container["args"][-2:] == ["-m", "operators.scaler.handlers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["ORDERFLOW_SCALER_LEASE_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert env["ORDERFLOW_SCALER_IDENTITY"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert {p["name"] for p in container["ports"]} == {"metrics", "health"}
    assert named(manifests, "Service", "orderflow-operator-metrics")["spec"]["ports"][0]["port"] == 8080
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_watch_namespaces_grant_roles_there_and_nothing_cluster_wide(helm: Helm) -> None:
    manifests = _render(helm, "--values", CHART / "ci" / "namespaced-values.yaml")
    roles = {(m["kind"], m["metadata"].get("namespace")) for m in manifests if m["kind"] in ("Role", "ClusterRole")}
    assert ("Role", "shop") in roles
    assert ("Role", "payments") in roles
    cluster_roles = [m for m in manifests if m["kind"] == "ClusterRole"]
    assert [r["metadata"]["name"] for r in cluster_roles] == ["orderflow-operator-discovery"]
    args = named(manifests, "Deployment", "orderflow-operator")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--namespace=shop" in args
    assert "--all-namespaces" not in args
    for role in (m for m in manifests if m["kind"] == "Role" and m["metadata"]["name"] == "orderflow-operator"):
        assert not any("secrets" in r["resources"] for r in role["rules"]), "strimzi.enabled=false: no Secrets"


def _can(client: Any, namespace: str, user: str, verb: str, resource: str, **extra: str) -> bool:
    group, _, subresource = "", "", ""
    if "/" in resource:
        resource, subresource = resource.split("/", 1)
    if "." in resource:
        resource, group = resource.split(".", 1)
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": ["system:serviceaccounts", "system:authenticated"],
            "resourceAttributes": {
                "namespace": namespace,
                "verb": verb,
                "group": group,
                "resource": resource,
                "subresource": subresource,
                **extra,
            },
        },
    }
    response = client.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
    response.raise_for_status()
    return bool(response.json()["status"].get("allowed"))


def test_install_is_accepted_and_rbac_is_least_privilege(
    helm: Helm, kube_api: ControlPlane, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig: list[str | Path] = ["--kubeconfig", kube_api.kubeconfig]
    # Other tests of this session may have applied the same CRD under another field manager; helm 4 applies
    # server-side, so it must be allowed to take those fields over.
    helm.run("install", "orderflow-operator", CHART, "--namespace", namespace, "--force-conflicts", *kubeconfig)
    manifests = documents(
        helm.run("get", "manifest", "orderflow-operator", "--namespace", namespace, *kubeconfig).stdout
    )
    accepted = []
    with kube_api.client() as client:
        for manifest in manifests:
            stored = client.get(api_path(client, manifest, namespace))
            assert stored.status_code == 200, f"{manifest['kind']} {manifest['metadata']['name']}: {stored.text}"
            accepted.append(f"{manifest['kind']} {manifest['metadata']['name']}")
        crd = client.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/consumerscalers.orderflow.io")
        assert crd.status_code == 200, "helm installs crds/ first"

        sa = f"system:serviceaccount:{namespace}:orderflow-operator"
        other = "some-app-namespace"
        allowed = [
            ("patch", "deployments.apps/scale", other),
            ("get", "statefulsets.apps/scale", other),
            ("patch", "consumerscalers.orderflow.io/status", other),
            ("watch", "consumerscalers.orderflow.io", other),
            ("list", "horizontalpodautoscalers.autoscaling", other),
            ("create", "events", other),
            ("get", "kafkas.kafka.strimzi.io", other),
            ("get", "secrets", other),
            ("update", "leases.coordination.k8s.io", namespace),
        ]
        for verb, resource, ns in allowed:
            extra = {"name": "orderflow-operator-leader"} if resource.startswith("leases") else {}
            assert _can(client, ns, sa, verb, resource, **extra), f"cannot {verb} {resource}"
        denied = [
            ("update", "deployments.apps", other),
            ("patch", "deployments.apps", other),
            ("list", "secrets", other),
            ("watch", "secrets", other),
            ("create", "pods", other),
            ("delete", "consumerscalers.orderflow.io", other),
            ("update", "leases.coordination.k8s.io", other),
            ("create", "horizontalpodautoscalers.autoscaling", other),
        ]
        for verb, resource, ns in denied:
            assert not _can(client, ns, sa, verb, resource), f"may {verb} {resource}: more than it needs"
        assert not _can(client, namespace, sa, "update", "leases.coordination.k8s.io", name="someone-elses-lease")

        # The restricted Pod Security profile admits the operator's pod (PodSecurity admission is on by default).
        labels = {"pod-security.kubernetes.io/enforce": "restricted"}
        client.patch(
            f"/api/v1/namespaces/{namespace}",
            json={"metadata": {"labels": labels}},
            headers={"Content-Type": "application/merge-patch+json"},
        ).raise_for_status()
        template = named(manifests, "Deployment", "orderflow-operator")["spec"]["template"]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"}, "spec": template["spec"]}
        created = client.post(f"/api/v1/namespaces/{namespace}/pods", params={"dryRun": "All"}, json=pod)
        assert created.status_code == 201, created.text
        assert "violate" not in created.headers.get("Warning", "")
    with capsys.disabled():
        print(f"\noperator chart objects the API server accepted ({len(accepted)}):\n" + "\n".join(sorted(accepted)))


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_operator_dockerfile_is_multi_stage_pinned_and_non_root() -> None:
    steps = _instructions(DOCKERFILE)
    args = dict(a.split("=", 1) for op, a in steps if op == "ARG" and "=" in a)
    bases = [args.get(a.split()[0].strip("${}"), a.split()[0]) for op, a in steps if op == "FROM"]
    assert len(bases) == 3, "uv, build and runtime stages"
    assert all(b.partition(":")[2] not in ("", "latest") for b in bases), bases
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", bases[-1])
    runs = " ".join(a for op, a in steps if op == "RUN")
    assert "uv sync --frozen --no-dev --no-install-project" in runs
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    [user] = [a for op, a in final if op == "USER"]
    assert user == "10001:10001"
    assert [a for op, a in final if op == "COPY"] == ["--from=build /opt/venv /opt/venv"]
    sources = [s for op, a in steps if op == "COPY" and not a.startswith("--from") for s in a.split()[:-1]]
    assert not {".", "./"} & set(sources), "explicit COPY list"
    assert all((REPO / s).exists() for s in sources)


def test_operator_image_build_steps_give_kopf_and_the_handlers_without_dev_dependencies(tmp_path: Path) -> None:
    # The build stage without Docker: its COPY list into an empty folder, `uv sync`, then imports from outside
    # the checkout, so nothing comes from the working tree.
    src, venv = tmp_path / "src", tmp_path / "venv"
    steps = _instructions(DOCKERFILE)
    for op, arguments in steps[: max(i for i, (op, _) in enumerate(steps) if op == "FROM")]:
        if op == "COPY" and not arguments.startswith("--from"):
            *sources, target = arguments.split()
            for source in sources:
                destination = src / target if target not in ("./", ".") else src / Path(source).name
                if (REPO / source).is_dir():
                    shutil.copytree(REPO / source, destination, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(REPO / source, destination)
    uv = cache_dir("uv", "0.9.30") / "bin" / "uv"
    if not uv.exists():
        pytest.skip(f"{uv} is missing: run make venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH", "UV_"))}
    env |= {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never", "UV_NATIVE_TLS": "true"}
    sync = [str(uv), "sync", "--frozen", "--no-dev", "--no-editable", "--python", sys.executable]
    synced = subprocess.run(sync, cwd=src, env=env, capture_output=True, text=True, timeout=600)
    assert synced.returncode == 0, synced.stderr

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert run(str(venv / "bin" / "kopf"), "run", "--help").returncode == 0
    imported = run(str(venv / "bin" / "python"), "-c", "import operators.scaler.handlers as h; print(h.__file__)")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(str(venv))
    for dev_only in ("pytest", "hypothesis", "mypy"):
        assert run(str(venv / "bin" / "python"), "-c", f"import {dev_only}").returncode != 0, f"{dev_only} installed"
