"""The node image's default CNI and storage: the manifests of kube-router's and local-path-provisioner's own
modules, changed only where this machine needs it."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from devstack.cluster import addons

KUBE_ROUTER = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-router, namespace: kube-system}
spec:
  template:
    spec:
      initContainers:
      - name: install-cni
        image: upstream/kube-router
        imagePullPolicy: Always
        volumeMounts: [{name: cni-conf-dir, mountPath: /etc/cni/net.d}]
      containers:
      - name: kube-router
        image: upstream/kube-router
        imagePullPolicy: Always
        volumeMounts: [{name: lib-modules, mountPath: /lib/modules}, {name: cni-conf-dir, mountPath: /etc/cni/net.d}]
      volumes:
      - {name: lib-modules, hostPath: {path: /lib/modules}}
      - {name: cni-conf-dir, hostPath: {path: /etc/cni/net.d}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: kube-router, namespace: kube-system}
"""
LOCAL_PATH = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: local-path-provisioner, namespace: local-path-storage}
spec:
  template:
    spec:
      containers: [{name: local-path-provisioner, image: upstream/local-path, imagePullPolicy: IfNotPresent}]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local-path}
provisioner: rancher.io/local-path
---
apiVersion: v1
kind: ConfigMap
metadata: {name: local-path-config, namespace: local-path-storage}
data:
  config.json: |-
    {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["/opt/local-path-provisioner"]}]}
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata: {name: helper-pod}
    spec:
      containers: [{name: helper-pod, image: busybox, imagePullPolicy: IfNotPresent}]
"""


def _module(tmp_path: Path, relative: str, text: str) -> Path:
    (tmp_path / relative).parent.mkdir(parents=True)
    (tmp_path / relative).write_text(text)
    return tmp_path


def test_kube_router_runs_the_nodes_own_image_without_the_module_tree(tmp_path: Path) -> None:
    docs = addons.kube_router(
        _module(tmp_path, "daemonset/kubeadm-kuberouter.yaml", KUBE_ROUTER), "local/kube-router:v1"
    )
    pod = next(d for d in docs if d["kind"] == "DaemonSet")["spec"]["template"]["spec"]
    for container in [*pod["initContainers"], *pod["containers"]]:
        assert (container["image"], container["imagePullPolicy"]) == ("local/kube-router:v1", "IfNotPresent")
        assert [m["name"] for m in container["volumeMounts"]] == ["cni-conf-dir"]
    assert [v["name"] for v in pod["volumes"]] == ["cni-conf-dir"], "this host has no /lib/modules"
    assert {d["kind"] for d in docs} == {"DaemonSet", "ServiceAccount"}


def test_local_path_is_the_default_storage_class_standard_with_volumes_under_var(tmp_path: Path) -> None:
    module = _module(tmp_path, "deploy/local-path-storage.yaml", LOCAL_PATH)
    docs = {d["kind"]: d for d in addons.local_path(module, "local/local-path:v0", "local/helper:1")}
    storage = docs["StorageClass"]
    assert storage["metadata"]["name"] == "standard"
    assert storage["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    [container] = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "local/local-path:v0"
    data = docs["ConfigMap"]["data"]
    config = json.loads(data["config.json"])  # the provisioner parses JSON: YAML here made it exit at start
    assert config["nodePathMap"][0]["paths"] == ["/var/local-path-provisioner"]
    helper = yaml.safe_load(data["helperPod.yaml"])
    assert helper["spec"]["containers"][0]["image"] == "local/helper:1"
