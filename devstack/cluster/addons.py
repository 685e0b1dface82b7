"""The kind node image's default CNI and default storage: kube-router and local-path-provisioner, from the
manifests their own Go modules ship, with only what this machine needs changed.

kind applies `/kind/manifests/default-cni.yaml` and `/kind/manifests/default-storage.yaml` of the node image
when it creates a cluster (its installcni and installstorage steps), so every cluster made from the image, also
by a plain `kind create cluster --image`, gets them. The changes: the images are the node's own (never pulled),
no /lib/modules mount (this host has no loadable modules), and, as kind's own storage does, a default
StorageClass named `standard` whose volumes live under /var (the node's volume, kept across a restart).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]
STORAGE_CLASS = "standard"
VOLUME_ROOT = "/var/local-path-provisioner"


def _documents(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _localize(pod: Manifest, image: str) -> None:
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        container["image"] = image
        container["imagePullPolicy"] = "IfNotPresent"
        container["volumeMounts"] = [m for m in container.get("volumeMounts", []) if m["name"] != "lib-modules"]
    pod["volumes"] = [v for v in pod.get("volumes", []) if v["name"] != "lib-modules"]


def kube_router(module: Path, image: str) -> list[Manifest]:
    """daemonset/kubeadm-kuberouter.yaml: routes between the nodes (BGP) and NetworkPolicies (iptables and
    ipset); kube-proxy keeps the Services."""
    docs = _documents(module / "daemonset" / "kubeadm-kuberouter.yaml")
    for doc in docs:
        if doc["kind"] == "DaemonSet":
            _localize(doc["spec"]["template"]["spec"], image)
    return docs


def local_path(module: Path, image: str, helper_image: str) -> list[Manifest]:
    """deploy/local-path-storage.yaml: a volume is a folder of the node that runs its first pod."""
    docs = _documents(module / "deploy" / "local-path-storage.yaml")
    for doc in docs:
        if doc["kind"] == "Deployment":
            _localize(doc["spec"]["template"]["spec"], image)
        elif doc["kind"] == "StorageClass":
            doc["metadata"]["name"] = STORAGE_CLASS
            doc["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
        elif doc["kind"] == "ConfigMap":
            data = doc["data"]
            config = yaml.safe_load(data["config.json"])
            for entry in config["nodePathMap"]:
                entry["paths"] = [VOLUME_ROOT]
            data["config.json"] = json.dumps(config, indent=2)
            helper = yaml.safe_load(data["helperPod.yaml"])
            for container in helper["spec"]["containers"]:
                container["image"] = helper_image
            data["helperPod.yaml"] = yaml.safe_dump(helper, sort_keys=False)
    return docs


def dump(manifests: list[Manifest]) -> str:
    return yaml.safe_dump_all(manifests, sort_keys=False)
