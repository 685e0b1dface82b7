"""The bare control plane of the chart tests: pinned versions, Strimzi's CRDs, plain objects, RBAC."""

from __future__ import annotations

import hashlib
import subprocess
from typing import Any

import pytest
import yaml

from devstack.cluster.controlplane import ControlPlane
from devstack.cluster.crds import load_crds
from devstack.cluster.gotool import GoTool
from devstack.cluster.strimzicrds import strimzi_crds_dir
from devstack.cluster.tools import ETCD, ETCD_VERSION, HELM, HELM_VERSION, KUBERNETES, KUBERNETES_VERSION

# The first session builds the binaries from source, which takes longer than the default per-test timeout.
pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(1200)]

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def test_apiserver_reports_the_pinned_version(kube_api: ControlPlane) -> None:
    with kube_api.client() as client:
        version = client.get("/version").json()
    assert version["gitVersion"] == KUBERNETES_VERSION
    assert f"{version['major']}.{version['minor']}" == KUBERNETES_VERSION.removeprefix("v").rsplit(".", 1)[0]


@pytest.mark.parametrize(
    ("tool", "binary", "args", "expected"),
    [
        (KUBERNETES, "kube-apiserver", ["--version"], f"Kubernetes {KUBERNETES_VERSION}"),
        (KUBERNETES, "kubectl", ["version", "--client"], f"Client Version: {KUBERNETES_VERSION}"),
        (ETCD, "etcd", ["--version"], f"etcd Version: {ETCD_VERSION.removeprefix('v')}"),
        (HELM, "helm", ["version", "--short"], HELM_VERSION),
    ],
)
def test_built_binaries_print_their_pinned_versions(
    kube_api: ControlPlane, tool: GoTool, binary: str, args: list[str], expected: str
) -> None:
    out = subprocess.run([tool.binary(binary), *args], capture_output=True, text=True, check=True).stdout
    assert expected in out


def test_every_strimzi_crd_is_established(kube_api: ControlPlane) -> None:
    with kube_api.client() as client:
        kafka = client.get(f"{CRDS}/kafkas.kafka.strimzi.io").json()
    conditions = {c["type"]: c["status"] for c in kafka["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert [v["name"] for v in kafka["spec"]["versions"] if v["served"]] == ["v1"]


def _without_empty_maps(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_empty_maps(item) for key, item in value.items() if item != {}}
    if isinstance(value, list):
        return [_without_empty_maps(item) for item in value]
    return value


def test_the_installed_strimzi_crds_are_the_generated_files(
    kube_api: ControlPlane, capsys: pytest.CaptureFixture[str]
) -> None:
    # What every chart test validates against is what Strimzi's generator wrote into the cache, nothing else: the
    # same names, and each served definition equal to its generated file, up to what the server adds (defaults)
    # and leaves out (empty maps, such as the Kafka CRD's `clusterSecurity.properties: {}`).
    generated = strimzi_crds_dir()
    crds = load_crds(generated)
    assert sorted(kube_api.crds) == sorted(crd["metadata"]["name"] for crd in crds)
    with kube_api.client() as client:
        for crd in crds:
            served = client.get(f"{CRDS}/{crd['metadata']['name']}").json()
            stored = {key: served["spec"][key] for key in crd["spec"]}
            assert _without_empty_maps(stored) == _without_empty_maps(crd["spec"]), crd["metadata"]["name"]
            assert served["metadata"]["labels"] == crd["metadata"]["labels"]
    with capsys.disabled():
        print(f"\nStrimzi CRDs installed, as generated into {generated}:")
        for path in sorted(generated.glob("*.yaml")):
            print(f"  {hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}")


def test_strimzi_custom_resources_are_validated_by_their_schema(kube_api: ControlPlane, namespace: str) -> None:
    topics = f"/apis/kafka.strimzi.io/v1/namespaces/{namespace}/kafkatopics"
    topic = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": "orders", "labels": {"strimzi.io/cluster": "orderflow"}},
        "spec": {"partitions": 3, "replicas": 1},
    }
    broken = {**topic, "metadata": {"name": "broken"}, "spec": {"partitions": "three"}}
    with kube_api.client() as client:
        created = client.post(topics, json=topic)
        rejected = client.post(topics, json=broken)
        assert created.status_code == 201, created.text
        assert client.get(f"{topics}/orders").json()["spec"]["partitions"] == 3
    assert rejected.status_code == 422
    assert "spec.partitions" in rejected.text


def test_namespace_and_configmap_can_be_created(kube_api: ControlPlane, namespace: str) -> None:
    configmaps = f"/api/v1/namespaces/{namespace}/configmaps"
    with kube_api.client() as client:
        created = client.post(configmaps, json={"metadata": {"name": "settings"}, "data": {"mode": "test"}})
        assert created.status_code == 201, created.text
        assert client.get(f"{configmaps}/settings").json()["data"] == {"mode": "test"}
        assert client.get(f"/api/v1/namespaces/{namespace}").json()["status"]["phase"] == "Active"


def test_rbac_denies_anonymous_and_ungranted_users(kube_api: ControlPlane, namespace: str) -> None:
    configmaps = f"/api/v1/namespaces/{namespace}/configmaps"
    with kube_api.client("anonymous") as anonymous, kube_api.client("unprivileged") as unprivileged:
        denied_anonymous = anonymous.get(configmaps)
        denied_user = unprivileged.get(configmaps)
    assert denied_anonymous.status_code == 403
    assert "system:anonymous" in denied_anonymous.json()["message"]
    assert denied_user.status_code == 403
    assert "orderflow-unprivileged" in denied_user.json()["message"]


def test_a_role_binding_grants_exactly_its_rules(kube_api: ControlPlane, namespace: str) -> None:
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    role = {
        "metadata": {"name": "configmap-reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
    }
    binding = {
        "metadata": {"name": "configmap-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "configmap-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "orderflow-unprivileged"}],
    }
    with kube_api.client() as admin:
        admin.post(f"{rbac}/roles", json=role).raise_for_status()
        admin.post(f"{rbac}/rolebindings", json=binding).raise_for_status()
    with kube_api.client("unprivileged") as user:
        assert user.get(f"/api/v1/namespaces/{namespace}/configmaps").status_code == 200
        assert user.get(f"/api/v1/namespaces/{namespace}/secrets").status_code == 403
        assert user.get("/api/v1/namespaces/default/configmaps").status_code == 403


def test_kubeconfig_authenticates_as_cluster_admin(kube_api: ControlPlane) -> None:
    config = yaml.safe_load(kube_api.kubeconfig.read_text())
    assert config["clusters"][0]["cluster"]["server"] == kube_api.server
    token = config["users"][0]["user"]["token"]
    with kube_api.client("anonymous") as client:
        review = client.post(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            headers={"Authorization": f"Bearer {token}"},
            json={"spec": {"resourceAttributes": {"verb": "*", "group": "*", "resource": "*"}}},
        )
    assert review.json()["status"]["allowed"] is True


def test_deleted_namespace_stays_terminating_without_a_controller_manager(
    kube_api: ControlPlane, namespace: str
) -> None:
    # Documents the limit of an apiserver-only cluster: the namespace finalizer is never run.
    with kube_api.client() as client:
        client.delete(f"/api/v1/namespaces/{namespace}").raise_for_status()
        assert client.get(f"/api/v1/namespaces/{namespace}").json()["status"]["phase"] == "Terminating"


async def test_async_client_reaches_the_api(kube_api: ControlPlane) -> None:
    async with kube_api.async_client() as client:
        response = await client.get("/readyz")
    assert response.text == "ok"
