"""The Strimzi stand-in on the local cluster, where Strimzi's own operator cannot be installed (its images and
the `io.strimzi:cluster-operator` module come from nowhere this machine reaches).

Installed the way Strimzi is (its CRDs, then an operator Deployment in namespace `strimzi` watching every
namespace), so that `helm install charts/orderflow` with the chart's default `kafka.strimzi.enabled=true` meets
what it would meet with Strimzi. The CRDs are Strimzi's own, generated from its Maven artifacts
(strimzicrds.py); the operator is devstack/strimzi (docs/deploy/strimzi-stand-in.md); its brokers run the project's
Kafka image (devstack.images.kafka). Never part of what users run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devstack.cluster.cluster import Cluster
from devstack.cluster.strimzicrds import strimzi_crds_dir
from devstack.images import app_images
from devstack.images.kafka import ensure_kafka_image
from devstack.kafka.artifacts import KAFKA_VERSION

NAMESPACE = "strimzi"
NAME = "strimzi-cluster-operator"
STANDIN = app_images.ImageSpec("orderflow.local/strimzi-standin", "devstack/strimzi/Dockerfile")
TAG = "local"
ID_ANNOTATION = "orderflow.local/image-id"

Log = Callable[[str], None]
Manifest = dict[str, Any]

# What the operators of Strimzi's own install do with the cluster's API, no more.
RULES: list[dict[str, Any]] = [
    {
        "apiGroups": ["kafka.strimzi.io"],
        "resources": ["kafkas", "kafkanodepools", "kafkatopics", "kafkausers"],
        "verbs": ["get", "list", "watch", "patch", "update"],
    },
    {
        "apiGroups": ["kafka.strimzi.io"],
        "resources": ["kafkas/status", "kafkanodepools/status", "kafkatopics/status", "kafkausers/status"],
        "verbs": ["get", "patch", "update"],
    },
    {
        "apiGroups": [""],
        "resources": ["secrets", "configmaps", "services"],
        "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
    },
    {"apiGroups": [""], "resources": ["pods", "persistentvolumeclaims"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    {
        "apiGroups": ["apps"],
        "resources": ["statefulsets"],
        "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
    },
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["networkpolicies"],
        "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
    },
    {
        "apiGroups": ["policy"],
        "resources": ["poddisruptionbudgets"],
        "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
    },
    # kopf's own: it finds the resources it serves among the CRDs, and watches every namespace.
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
]


def manifests(image: str, image_id: str, kafka_image: str) -> list[Manifest]:
    """Namespace, ServiceAccount, ClusterRole and binding, and the operator's Deployment (pure)."""
    labels = {"name": NAME, "strimzi.io/kind": "cluster-operator"}
    meta = {"name": NAME, "namespace": NAMESPACE, "labels": labels}
    container = {
        "name": "strimzi-cluster-operator",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "env": [
            {"name": "STANDIN_KAFKA_IMAGE", "value": kafka_image},
            {"name": "STANDIN_KAFKA_VERSION", "value": KAFKA_VERSION},
        ],
        "ports": [{"name": "healthz", "containerPort": 8081}],
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": 8081},
            "initialDelaySeconds": 20,
            "periodSeconds": 20,
        },
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "384Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": NAME},
            "rules": RULES,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": NAME},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": {"name": NAME}},
                "template": {
                    "metadata": {"labels": labels, "annotations": {ID_ANNOTATION: image_id}},
                    "spec": {
                        "serviceAccountName": NAME,
                        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                        "containers": [container],
                        "volumes": [{"name": "tmp", "emptyDir": {}}],
                    },
                },
            },
        },
    ]


def install_crds(cluster: Cluster, crds: Path) -> None:
    files = sorted(str(path) for path in crds.glob("*.yaml"))
    args = [arg for file in files for arg in ("-f", file)]
    # Server-side: Strimzi's Kafka CRD is too large for the last-applied annotation of a client-side apply.
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=orderflow", *args)
    names = [
        f"crd/{json.loads(cluster.kubectl('create', '--dry-run=client', '-o', 'json', '-f', f))['metadata']['name']}"
        for f in files
    ]
    cluster.kubectl("wait", "--for=condition=Established", *names, "--timeout=60s")


def install(cluster: Cluster, log: Log = print) -> float:
    """CRDs, images, operator; waits until it runs. Seconds taken."""
    began = time.monotonic()
    install_crds(cluster, strimzi_crds_dir(log))
    kafka = ensure_kafka_image(cluster.engine, cluster.logs, log)
    standin = app_images.build_all(cluster.engine, TAG, log=log, logs=cluster.logs, images=(STANDIN,))[0]
    cluster.load([kafka, standin])
    image_id = cluster.engine.image_id(standin) or ""
    cluster.apply(manifests(standin, image_id, kafka))
    cluster.kubectl("-n", NAMESPACE, "rollout", "status", f"deploy/{NAME}", "--timeout=180s", timeout=210)
    took = time.monotonic() - began
    log(f"Strimzi stand-in running in namespace {NAMESPACE} ({took:.0f}s)")
    return took
