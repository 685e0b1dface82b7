"""KEDA v2.21 on the local cluster, for `orderflow scaler bench`: its operator and metrics API server, built from
their Go module (devstack.cluster.build.KEDA) into FROM-scratch images, installed from KEDA's own manifests.

The manifests are the module's `config/` (namespace, CRDs, RBAC, the two Deployments and Services, the
`v1beta1.external.metrics.k8s.io` APIService), as `kubectl apply -k config/minimal` would install them, with
only what this machine needs changed: the local images (never pulled), a numeric uid (a FROM-scratch image
names no user) and no webhook patching (the admission webhooks, optional upstream, are not installed). The
operator's own certificate rotation makes the `kedaorg-certs` Secret and injects the APIService's caBundle,
exactly as upstream; the kube-apiserver reaches the adapter through the aggregation layer (its front-proxy
flags, which kubeadm sets), and the real HPA controller of kube-controller-manager reads the
external metric from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from devstack.cluster.build import ensure_tools, module_source
from devstack.cluster.cluster import Cluster
from devstack.cluster.tools import KEDA, KEDA_VERSION

NAMESPACE = "keda"
VERSION = KEDA_VERSION.removeprefix("v")
OPERATOR_IMAGE = f"orderflow.local/keda:{VERSION}"
ADAPTER_IMAGE = f"orderflow.local/keda-metrics-apiserver:{VERSION}"
# distroless/static:nonroot's uid, which the upstream images run as.
UID = 65532
# config/minimal's parts, in the order they can be applied.
PARTS = ("general", "crd/bases", "service_account", "rbac", "manager", "metrics-server")
CA = Path("/etc/ssl/certs/ca-certificates.crt")

Manifest = dict[str, Any]
Log = Callable[[str], None]


def _documents(folder: Path) -> Iterator[Manifest]:
    for file in sorted(folder.glob("*.yaml")):
        if file.name == "kustomization.yaml":
            continue
        yield from (doc for doc in yaml.safe_load_all(file.read_text()) if doc)


def manifests(config: Path) -> list[Manifest]:
    """KEDA's `config/minimal` with this machine's changes (pure, given the folder)."""
    found = [doc for part in PARTS for doc in _documents(config / part)]
    for doc in found:
        if doc["kind"] == "Deployment":
            _localize(doc)
    return found


def _localize(deployment: Manifest) -> None:
    pod = deployment["spec"]["template"]["spec"]
    pod["securityContext"] = {**pod.get("securityContext", {}), "runAsUser": UID, "runAsGroup": UID}
    for container in pod["containers"]:
        operator = container["command"] == ["/keda"]
        container["image"] = OPERATOR_IMAGE if operator else ADAPTER_IMAGE
        container["imagePullPolicy"] = "Never"
        if operator:
            # No admission webhooks here (optional upstream): nothing for the rotator to patch.
            container["args"] = [*container["args"], "--enable-webhook-patching=false"]


def install(cluster: Cluster, log: Log = print, timeout: float = 300) -> float:
    """Build (once), load and apply KEDA; wait until its external metrics API is Available. Seconds taken."""
    started = time.monotonic()
    ensure_tools((KEDA,), log=log)
    ca = {"etc/ssl/certs/ca-certificates.crt": CA} if CA.exists() else {}
    cluster.engine.ensure_image(OPERATOR_IMAGE, {"keda": KEDA.binary("keda"), **ca}, ('ENTRYPOINT ["/keda"]',))
    adapter = {"keda-adapter": KEDA.binary("keda-adapter"), **ca}
    cluster.engine.ensure_image(ADAPTER_IMAGE, adapter, ('ENTRYPOINT ["/keda-adapter"]',))
    cluster.load([OPERATOR_IMAGE, ADAPTER_IMAGE])
    docs = manifests(module_source(KEDA) / "config")
    crds = [doc for doc in docs if doc["kind"] == "CustomResourceDefinition"]
    cluster.apply([doc for doc in docs if doc["kind"] == "Namespace"] + crds)
    names = [f"crd/{doc['metadata']['name']}" for doc in crds]
    cluster.kubectl("wait", "--for=condition=Established", *names, "--timeout=60s")
    cluster.apply([doc for doc in docs if doc["kind"] not in ("Namespace", "CustomResourceDefinition")])
    wait = f"--timeout={int(timeout)}s"
    # The operator makes its certificates, then exits once to load them (RestartOnSecretRefresh): a restart here
    # is KEDA's normal first start.
    for deployment in ("keda-operator", "keda-metrics-apiserver"):
        cluster.kubectl("-n", NAMESPACE, "rollout", "status", f"deploy/{deployment}", wait, timeout=timeout + 30)
    cluster.kubectl("wait", "--for=condition=Available", "apiservice/v1beta1.external.metrics.k8s.io", wait)
    took = time.monotonic() - started
    log(f"KEDA {VERSION} installed in {NAMESPACE}: external.metrics.k8s.io Available, {took:.0f}s")
    return took


def uninstall(cluster: Cluster) -> None:
    """The APIService first: an unavailable one would stall discovery (and namespace deletion) cluster-wide."""
    cluster.kubectl("delete", "apiservice/v1beta1.external.metrics.k8s.io", "--ignore-not-found")
    cluster.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", timeout=300)
