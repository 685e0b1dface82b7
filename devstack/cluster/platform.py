"""`orderflow k8s install`: the whole platform on the local kind cluster, from charts/orderflow-operator and
charts/orderflow with k8s/local-values.yaml, on the chart's default Kafka path (`kafka.strimzi.enabled`).

- images: `orderflow-orders`, `-inventory`, `-payments`, `-operator` and PostgreSQL from Debian's packages
  (k8s/postgres), built and loaded into every node (`kind load`), only when changed;
- Kafka: the chart's Strimzi resources, made real by the Strimzi stand-in (standin.py), installed once per
  cluster, as Strimzi would be: TLS with SCRAM-SHA-512, the chart's ACLs, its topics;
- PostgreSQL: the chart's bundled StatefulSet, on the cluster's default StorageClass (local-path);
- a namespace with Pod Security "restricted" enforced, as k8s/namespace.yaml.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devstack.cluster import standin
from devstack.cluster.cluster import Cluster
from devstack.cluster.observability import OBSERVABILITY_VALUES, ensure_observability_images
from devstack.cluster.tools import HELM
from devstack.images import app_images
from devstack.kafka.broker import BrokerState

REPO = Path(__file__).resolve().parents[2]
APP_CHART = REPO / "charts" / "orderflow"
OPERATOR_CHART = REPO / "charts" / "orderflow-operator"
LOCAL_VALUES = REPO / "k8s" / "local-values.yaml"
IMAGE_ID_ANNOTATION = "orderflow\\.local/image-id"

Log = Callable[[str], None]


class InstallError(RuntimeError):
    """helm or kubectl failed; the message carries their output."""


@dataclass(frozen=True)
class Installed:
    namespace: str
    release: str
    operator_release: str | None
    tag: str
    values: tuple[str, ...] = ()
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def fullname(self) -> str:
        """The chart's prefix of every object name (orderflow.fullname): the release, plus the chart's name."""
        return self.release if "orderflow" in self.release else f"{self.release}-orderflow"

    @property
    def kafka(self) -> str:
        """The Strimzi Kafka cluster's name (orderflow.kafka.cluster)."""
        return f"{self.fullname}-kafka"


def namespace_manifest(name: str) -> dict[str, Any]:
    """k8s/namespace.yaml with another name: Pod Security admission enforces "restricted" on every pod."""
    document: dict[str, Any] = yaml.safe_load((REPO / "k8s" / "namespace.yaml").read_text())
    document["metadata"]["name"] = name
    return document


def app_settings(
    tag: str, image_ids: Mapping[str, str] | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The --set values on top of k8s/local-values.yaml: what only this cluster knows.

    `image_ids` (service -> image id) go into a pod annotation: a rebuilt image keeps its tag, and only a changed
    pod template makes a Deployment roll its pods onto it.
    """
    annotations = {f"services.{s}.podAnnotations.{IMAGE_ID_ANNOTATION}": i for s, i in (image_ids or {}).items()}
    return {"defaults.image.tag": tag, **annotations, **(extra or {})}


def helm_upgrade_argv(
    release: str,
    chart: Path,
    namespace: str,
    *,
    values: Sequence[Path | str] = (),
    settings: Mapping[str, str] | None = None,
    timeout: str = "10m",
) -> list[str]:
    argv = ["upgrade", "--install", release, str(chart), "--namespace", namespace, "--wait", "--timeout", timeout]
    for file in values:
        argv += ["--values", str(file)]
    for key, value in (settings or {}).items():
        string = key.endswith(".tag") or IMAGE_ID_ANNOTATION in key
        structured = value.startswith(("[", "{"))  # a list or a map, given as JSON
        argv += ["--set-json" if structured else "--set-string" if string else "--set", f"{key}={value}"]

    return argv


def helm(cluster: Cluster, *args: str, timeout: float = 900) -> str:
    home = cluster.layout.state / "helm"
    env = {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        **{name: str(home / name.lower()) for name in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME")},
    }
    done = subprocess.run([str(HELM.binary("helm")), *args], capture_output=True, text=True, env=env, timeout=timeout)
    if done.returncode != 0:
        raise InstallError(f"helm {' '.join(args[:3])} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    return done.stdout


def ensure_images(cluster: Cluster, tag: str, log: Log = print) -> list[str]:
    """The four images and PostgreSQL's, built and loaded into the nodes; their references."""
    refs = app_images.build_all(cluster.engine, tag, log=log, logs=cluster.logs)
    refs += ensure_postgres_image(cluster, log)
    began = time.monotonic()
    cluster.load(refs)
    log(f"images loaded into the nodes ({time.monotonic() - began:.1f}s)")
    return refs


def ensure_postgres_image(cluster: Cluster, log: Log = print) -> list[str]:
    """The PostgreSQL image of k8s/local-values.yaml, built (loading is the caller's)."""
    spec = app_images.POSTGRES
    return app_images.build_all(cluster.engine, app_images.POSTGRES_TAG, log=log, logs=cluster.logs, images=(spec,))


def ensure_broker(cluster: Cluster, log: Log = print) -> BrokerState:
    """The devstack broker (an external, PLAINTEXT Kafka the pods reach on the kind network's gateway), started
    once; for the tests and benches of the chart's `kafka.strimzi.enabled=false` path."""
    broker = cluster.broker()
    state = broker.running()
    if state is None:
        began = time.monotonic()
        state = broker.start()
        log(f"Kafka {state.version} on {state.bootstrap_servers} (pid {state.pid}) in {time.monotonic() - began:.1f}s")
    return state


def ensure_standin(cluster: Cluster, log: Log = print) -> None:
    """The Strimzi stand-in, unless it runs already."""
    ready = cluster.kubectl(
        "-n", standin.NAMESPACE, "get", "deploy", standin.NAME, "-o", "jsonpath={.status.readyReplicas}", check=False
    )
    if ready.strip() != "1":
        standin.install(cluster, log)


def install(
    cluster: Cluster,
    *,
    namespace: str = "orderflow",
    release: str = "orderflow",
    tag: str = "local",
    operator: bool = True,
    build: bool = True,
    values: Sequence[Path | str] = (LOCAL_VALUES,),
    settings: Mapping[str, str] | None = None,
    observability: bool = False,
    log: Log = print,
) -> Installed:
    """Images, the Strimzi stand-in, namespace, operator chart, then the application chart; waits for every pod
    Ready. `observability`: also the chart's collector, Jaeger and Prometheus, from images of their Go builds."""
    began = time.monotonic()
    if build:
        ensure_images(cluster, tag, log)
    if observability:
        cluster.load(ensure_observability_images(cluster.engine, log))
        values = (*values, OBSERVABILITY_VALUES)
    ensure_standin(cluster, log)
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(namespace_manifest(namespace)))
    ids = {spec.repository: cluster.engine.image_id(spec.ref(tag)) or "" for spec in app_images.IMAGES}
    operator_release = None
    if operator:
        operator_release = install_operator(cluster, namespace, f"{release}-operator", tag, ids["orderflow-operator"])
        log(f"{operator_release} installed ({time.monotonic() - began:.0f}s)")
    service_ids = {s: ids[f"orderflow-{s}"] for s in app_images.SERVICES}
    chosen = app_settings(tag, service_ids, settings)
    helm(cluster, *helm_upgrade_argv(release, APP_CHART, namespace, values=values, settings=chosen))
    log(f"{release} installed in {namespace}, every pod Ready, {time.monotonic() - began:.0f}s after start")
    return Installed(namespace, release, operator_release, tag, tuple(map(str, values)), chosen)


def install_operator(cluster: Cluster, namespace: str, release: str, tag: str, image_id: str) -> str:
    """charts/orderflow-operator serving only `namespace` (another install on the cluster has an operator of its
    own), with the cluster's operator image; the release's name."""
    settings = {
        "image.tag": tag,
        "image.pullPolicy": "IfNotPresent",
        "watchNamespaces[0]": namespace,
        f"podAnnotations.{IMAGE_ID_ANNOTATION}": image_id,
    }
    helm(cluster, *helm_upgrade_argv(release, OPERATOR_CHART, namespace, settings=settings))
    return release


def helm_test(cluster: Cluster, installed: Installed, timeout: str = "5m") -> str:
    return helm(cluster, "test", installed.release, "--namespace", installed.namespace, "--logs", "--timeout", timeout)


def uninstall(cluster: Cluster, installed: Installed) -> None:
    for release in (installed.release, installed.operator_release):
        if release:
            helm(cluster, "uninstall", release, "--namespace", installed.namespace, "--wait", "--ignore-not-found")
