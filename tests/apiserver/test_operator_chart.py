"""charts/orderflow-operator: lint, schema, install into the real API server, least-privilege RBAC checked with
SubjectAccessReviews and the restricted Pod Security profile (the image: tests/cluster/test_images.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.cluster.controlplane import ControlPlane
from tests.apiserver.helm import REPO, Helm, Manifest, api_path, documents, named

pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(1200)]

CHART = REPO / "charts" / "orderflow-operator"
VALUES = [None, CHART / "ci" / "namespaced-values.yaml"]


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
        ("image.digest=ab12", "digest"),
    ],
)
def test_schema_rejects_bad_values_naming_the_key(helm: Helm, override: str, complaint: str) -> None:
    done = helm.run("template", "op", CHART, "--set", override, check=False)
    assert done.returncode != 0
    assert complaint in done.stderr


def _render(helm: Helm, *args: str | Path) -> list[Manifest]:
    return documents(helm.run("template", "orderflow-operator", CHART, "--namespace", "ops", *args).stdout)


DIGEST = "sha256:" + "ab" * 32
APP_VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]


@pytest.mark.parametrize(
    ("args", "image", "version"),
    [
        ([], f"orderflow-operator:{APP_VERSION}", APP_VERSION),
        (
            ["--set", "image.tag=1.4.2", "--set", f"image.digest={DIGEST}"],
            f"orderflow-operator:1.4.2@{DIGEST}",
            "1.4.2",
        ),
        (["--set", f"image.tag=1.4.1@{DIGEST}"], f"orderflow-operator:1.4.1@{DIGEST}", "1.4.1"),  # skaffold's form
    ],
)
def test_a_digest_pins_the_image_and_the_version_follows_the_tag(
    helm: Helm, args: list[str], image: str, version: str
) -> None:
    manifests = _render(helm, *args)
    [deployment] = [m for m in manifests if m["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == image
    assert {m["metadata"]["labels"]["app.kubernetes.io/version"] for m in manifests} == {version}
    assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == version


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
    service = named(manifests, "Service", "orderflow-operator-metrics")
    assert service["spec"]["ports"][0] == {"name": "metrics", "port": 8080, "targetPort": "metrics"}
    # What orderflow's bundled Prometheus and its ServiceMonitor select.
    assert service["metadata"]["labels"]["orderflow.io/metrics"] == "true"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert not [m for m in manifests if m["kind"] == "ServiceMonitor"], "off by default: it needs the CRDs"


def test_an_enabled_service_monitor_scrapes_the_metrics_service(helm: Helm) -> None:
    manifests = _render(
        helm, "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.labels.release=kps"
    )
    monitor = named(manifests, "ServiceMonitor", "orderflow-operator")
    service = named(manifests, "Service", "orderflow-operator-metrics")
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "30s", "honorLabels": True}
    ]


def test_watch_namespaces_grant_roles_there_and_nothing_cluster_wide(helm: Helm) -> None:
    manifests = _render(helm, "--values", CHART / "ci" / "namespaced-values.yaml")
    roles = {(m["kind"], m["metadata"].get("namespace")) for m in manifests if m["kind"] in ("Role", "ClusterRole")}
    assert ("Role", "shop") in roles
    assert ("Role", "payments") in roles
    cluster_roles = [m for m in manifests if m["kind"] == "ClusterRole"]
    assert [r["metadata"]["name"] for r in cluster_roles] == ["orderflow-operator-discovery"]
    # kopf finds the named namespaces by listing them (denied, it retries for about 40 s before serving).
    discovery = {
        (g, r): set(rule["verbs"])
        for rule in cluster_roles[0]["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    assert discovery[("", "namespaces")] == {"get", "list", "watch"}
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
            ("list", "namespaces", ""),
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
