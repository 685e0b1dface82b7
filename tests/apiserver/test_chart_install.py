"""Each values file of charts/orderflow/ci installed with `helm install` into the real local kube-apiserver.

The API server stores, defaults and validates every object (built-in kinds by their OpenAPI schemas, Strimzi's
and the operator's custom resources by their CRDs' schemas); nothing runs them, as there is no kubelet. The
helm test pods (hooks, created only by `helm test`) are checked with a server-side dry run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from devstack.cluster.controlplane import ControlPlane
from devstack.cluster.crds import install_crds, load_crds
from devstack.cluster.crdsources import module_crds
from tests.apiserver.helm import CHART, CI_VALUES, OPERATOR_CRDS, Helm, Manifest, api_path, documents, pod_specs

pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(1200)]


def _prepare(kube_api: ControlPlane, values: Path) -> None:
    """Install the CRDs a values file needs beyond Strimzi's (the operator chart's own CRD is in the repository)."""
    text = values.read_text()
    with kube_api.client() as client:
        if "serviceMonitor" in text or "prometheusRule" in text:
            install_crds(client, module_crds("prometheus-operator"))
        if "gateway" in text:
            install_crds(client, module_crds("gateway-api"))
        if "autoscaler" in text:
            assert OPERATOR_CRDS, "charts/orderflow-operator/crds/ holds the ConsumerScaler CRD"
            # Applied only when missing: a second field manager on the CRD would make the operator chart's own
            # `helm install` (server-side apply of crds/) conflict later in the session.
            crds = load_crds(OPERATOR_CRDS[0].parent)
            names = [crd["metadata"]["name"] for crd in crds]
            if any(client.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{n}").is_error for n in names):
                install_crds(client, crds)


def _install(
    helm: Helm, kube_api: ControlPlane, namespace: str, *args: str | Path, release: str = "of"
) -> list[Manifest]:
    helm.run("install", release, CHART, "--namespace", namespace, "--kubeconfig", kube_api.kubeconfig, *args)
    manifest = helm.run("get", "manifest", release, "--namespace", namespace, "--kubeconfig", kube_api.kubeconfig)
    return documents(manifest.stdout)


def _hooks(helm: Helm, kube_api: ControlPlane, namespace: str) -> list[Manifest]:
    hooks = helm.run("get", "hooks", "of", "--namespace", namespace, "--kubeconfig", kube_api.kubeconfig)
    return documents(hooks.stdout)


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_values_matrix_installs_and_every_object_is_accepted(
    helm: Helm, kube_api: ControlPlane, namespace: str, values: Path
) -> None:
    _prepare(kube_api, values)
    manifests = _install(helm, kube_api, namespace, "--values", values)
    assert manifests
    with kube_api.client() as client:
        for manifest in manifests:
            stored = client.get(api_path(client, manifest, namespace))
            assert stored.status_code == 200, f"{manifest['kind']} {manifest['metadata']['name']}: {stored.text}"
            assert stored.json()["metadata"]["labels"]["app.kubernetes.io/instance"] == "of"
        hooks = _hooks(helm, kube_api, namespace)
        assert {h["kind"] for h in hooks} == {"Pod"}
        for hook in hooks:
            pods = f"/api/v1/namespaces/{namespace}/pods"
            created = client.post(pods, params={"dryRun": "All"}, json=hook)
            assert created.status_code == 201, created.text


def test_default_install_creates_the_expected_objects(
    helm: Helm, kube_api: ControlPlane, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    manifests = _install(helm, kube_api, namespace)
    accepted: list[str] = []
    with kube_api.client() as client:
        for manifest in manifests:
            stored = client.get(api_path(client, manifest, namespace)).json()
            accepted.append(f"{stored['apiVersion']} {stored['kind']} {stored['metadata']['name']}")
    kinds = sorted({line.split()[1] for line in accepted})
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "Kafka",
        "KafkaNodePool",
        "KafkaTopic",
        "KafkaUser",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "ServiceAccount",
        "StatefulSet",
    ]
    assert sum(line.split()[1] == "KafkaTopic" for line in accepted) == 15
    with capsys.disabled():
        print(f"\nobjects the API server accepted for the default values ({len(accepted)}):")
        print("\n".join(sorted(accepted)))


def test_two_releases_share_a_namespace_without_claiming_each_others_objects(
    helm: Helm, kube_api: ControlPlane, namespace: str
) -> None:
    first = _install(helm, kube_api, namespace, release="shop")
    second = _install(helm, kube_api, namespace, release="outlet")
    names = [(m["kind"], m["metadata"]["name"]) for m in [*first, *second]]
    assert len(names) == len(set(names))
    topics = [m for m in second if m["kind"] == "KafkaTopic"]
    assert {t["metadata"]["labels"]["strimzi.io/cluster"] for t in topics} == {"outlet-orderflow-kafka"}


def test_the_generated_password_survives_an_upgrade(helm: Helm, kube_api: ControlPlane, namespace: str) -> None:
    _install(helm, kube_api, namespace)
    secret = f"/api/v1/namespaces/{namespace}/secrets/of-orderflow-postgresql"
    with kube_api.client() as client:
        before = client.get(secret).json()["data"]["password"]
        helm.run("upgrade", "of", CHART, "--namespace", namespace, "--kubeconfig", kube_api.kubeconfig)
        after = client.get(secret).json()["data"]["password"]
    assert before == after


def test_strimzi_validates_what_the_chart_renders(kube_api: ControlPlane, namespace: str) -> None:
    # The other side of "accepted": the same CRDs reject an ACL without operations, so acceptance means something.
    bad_user = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaUser",
        "metadata": {"name": "broken", "labels": {"strimzi.io/cluster": "c"}},
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": [{"resource": {"type": "topic", "name": "orders"}}]},
        },
    }
    with kube_api.client() as client:
        rejected = client.post(f"/apis/kafka.strimzi.io/v1/namespaces/{namespace}/kafkausers", json=bad_user)
    assert rejected.status_code == 422
    assert "operations" in rejected.text


def test_rendered_objects_round_trip_through_json(helm: Helm) -> None:
    # Guards against YAML-only values (e.g. unquoted "on") that the API server would read differently.
    for manifest in helm.template():
        assert yaml.safe_load(json.dumps(manifest)) == manifest


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_pod_security_admission_admits_every_pod_under_the_restricted_profile(
    helm: Helm, kube_api: ControlPlane, namespace: str, values: Path
) -> None:
    # The API server's own PodSecurity admission enforces "restricted" on this namespace; a Pod built from each
    # workload's template (and each helm test pod) must pass it.
    _prepare(kube_api, values)
    labels = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    with kube_api.client() as client:
        client.patch(
            f"/api/v1/namespaces/{namespace}",
            content=json.dumps({"metadata": {"labels": labels}}),
            headers={"Content-Type": "application/merge-patch+json"},
        ).raise_for_status()
        manifests = [*_install(helm, kube_api, namespace, "--values", values), *_hooks(helm, kube_api, namespace)]
        checked = 0
        for owner, spec in pod_specs(manifests):
            # A StatefulSet's claims become volumes of its pods; an emptyDir stands in for each here.
            claims = owner["spec"].get("volumeClaimTemplates", []) if owner["kind"] == "StatefulSet" else []
            spec = {
                **spec,
                "volumes": [
                    *spec.get("volumes", []),
                    *({"name": c["metadata"]["name"], "emptyDir": {}} for c in claims),
                ],
            }
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"psa-{checked}"}, "spec": spec}
            admitted = client.post(f"/api/v1/namespaces/{namespace}/pods", params={"dryRun": "All"}, json=pod)
            assert admitted.status_code == 201, f"{owner['kind']} {owner['metadata']['name']}: {admitted.text}"
            checked += 1
        # and the check has teeth: a root container is refused
        root = {**pod, "spec": {**spec, "securityContext": {"runAsUser": 0}}}
        refused = client.post(f"/api/v1/namespaces/{namespace}/pods", params={"dryRun": "All"}, json=root)
    assert checked >= 4  # the three services' Deployments and helm test's api-reachable pod, at least
    assert refused.status_code == 403
    assert "violates PodSecurity" in refused.text
