"""KEDA's own manifests, changed only where this machine needs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from devstack.cluster import keda

OPERATOR = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "keda-operator", "namespace": "keda"},
    "spec": {
        "template": {
            "spec": {
                "securityContext": {"runAsNonRoot": True},
                "containers": [
                    {"name": "keda-operator", "image": "upstream/keda:latest", "command": ["/keda"], "args": ["--a"]}
                ],
            }
        }
    },
}
ADAPTER = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "keda-metrics-apiserver", "namespace": "keda"},
    "spec": {
        "template": {"spec": {"containers": [{"name": "m", "image": "upstream/m", "command": ["/keda-adapter"]}]}}
    },
}


def _config(root: Path) -> Path:
    parts: dict[str, list[dict[str, Any]]] = {
        "general": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "keda"}}],
        "crd/bases": [{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}],
        "manager": [OPERATOR],
        "metrics-server": [ADAPTER],
        "webhooks": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "keda-admission"}}],
    }
    for folder, docs in parts.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "all.yaml").write_text(yaml.safe_dump_all(docs))
        (root / folder / "kustomization.yaml").write_text("resources: [all.yaml]\n")
    return root


def test_the_minimal_install_in_order_without_webhooks(tmp_path: Path) -> None:
    found = keda.manifests(_config(tmp_path))
    assert [doc["kind"] for doc in found] == ["Namespace", "CustomResourceDefinition", "Deployment", "Deployment"]


def test_local_images_a_numeric_uid_and_no_webhook_patching(tmp_path: Path) -> None:
    operator, adapter = (doc for doc in keda.manifests(_config(tmp_path)) if doc["kind"] == "Deployment")
    for doc, image in ((operator, keda.OPERATOR_IMAGE), (adapter, keda.ADAPTER_IMAGE)):
        pod = doc["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert (container["image"], container["imagePullPolicy"]) == (image, "Never")
        assert pod["securityContext"]["runAsUser"] == keda.UID
    assert operator["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert operator["spec"]["template"]["spec"]["containers"][0]["args"] == ["--a", "--enable-webhook-patching=false"]
