"""`orderflow k8s install`: the whole platform on the local node, from charts/orderflow-operator and
charts/orderflow with k8s/local-values.yaml.

- images: the four orderflow images and PostgreSQL from Debian's packages (k8s/postgres), built and loaded;
- Kafka: the devstack broker (the same Apache jars as `orderflow up`) on the node IP, so pods reach it;
- topics: the chart's pre-install Job creates every topic of the topology (kafka.external.topics);
- PostgreSQL: the chart's bundled StatefulSet, on a volume of the node's local pool;
- a namespace with Pod Security "restricted" enforced, as k8s/namespace.yaml.
The Strimzi path needs Strimzi's operator and Kafka images, which come only from registries that cannot be
reached here; it stays checked against Strimzi's real CRDs by the bare control plane's chart tests.
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

from devstack.cluster.build import HELM
from devstack.cluster.node import Node, recycle_volumes
from devstack.cluster.observability import OBSERVABILITY_VALUES, ensure_observability_images
from devstack.images import app_images
from devstack.kafka.broker import BrokerState

REPO = Path(__file__).resolve().parents[2]
APP_CHART = REPO / "charts" / "orderflow"
OPERATOR_CHART = REPO / "charts" / "orderflow-operator"
LOCAL_VALUES = REPO / "k8s" / "local-values.yaml"

Log = Callable[[str], None]


class InstallError(RuntimeError):
    """helm or kubectl failed; the message carries their output."""


@dataclass(frozen=True)
class Installed:
    namespace: str
    release: str
    operator_release: str | None
    bootstrap_servers: str
    tag: str
    values: tuple[str, ...] = ()
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def fullname(self) -> str:
        """The chart's prefix of every object name (orderflow.fullname): the release, plus the chart's name."""
        return self.release if "orderflow" in self.release else f"{self.release}-orderflow"


def namespace_manifest(name: str) -> dict[str, Any]:
    """k8s/namespace.yaml with another name: Pod Security admission enforces "restricted" on every pod."""
    document: dict[str, Any] = yaml.safe_load((REPO / "k8s" / "namespace.yaml").read_text())
    document["metadata"]["name"] = name
    return document


IMAGE_ID_ANNOTATION = "orderflow\\.local/image-id"


def app_settings(
    tag: str, bootstrap_servers: str, image_ids: Mapping[str, str] | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The --set values on top of k8s/local-values.yaml: what only this node knows.

    `image_ids` (service -> image id) go into a pod annotation: a rebuilt image keeps its tag, and only a changed
    pod template makes a Deployment roll its pods onto it.
    """
    annotations = {f"services.{s}.podAnnotations.{IMAGE_ID_ANNOTATION}": i for s, i in (image_ids or {}).items()}
    return {"defaults.image.tag": tag, "kafka.bootstrapServers": bootstrap_servers, **annotations, **(extra or {})}


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
        argv += ["--set-string" if string else "--set", f"{key}={value}"]
    return argv


def helm(node: Node, *args: str, timeout: float = 900) -> str:
    home = node.state_dir / "helm"
    env = {
        **os.environ,
        "KUBECONFIG": str(node.kubeconfig),
        **{name: str(home / name.lower()) for name in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME")},
    }
    done = subprocess.run([str(HELM.binary("helm")), *args], capture_output=True, text=True, env=env, timeout=timeout)
    if done.returncode != 0:
        raise InstallError(f"helm {' '.join(args[:3])} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    return done.stdout


def ensure_broker(node: Node, log: Log = print) -> BrokerState:
    broker = node.broker()
    state = broker.running()
    if state is None:
        started = time.monotonic()
        state = broker.start()
        log(
            f"Kafka {state.version} on {state.bootstrap_servers} (pid {state.pid}) in {time.monotonic() - started:.1f}s"
        )
    return state


def ensure_images(node: Node, tag: str, log: Log = print) -> list[str]:
    """The four images and PostgreSQL's, built and loaded into the node; their references."""
    refs = app_images.build_all(node.engine, tag, log=log, logs=node.layout.logs)
    refs += _postgres_image(node, log)
    return _load(node, refs, log)


def ensure_postgres_image(node: Node, log: Log = print) -> list[str]:
    """Only the PostgreSQL image of k8s/local-values.yaml (pullPolicy Never), built and loaded."""
    return _load(node, _postgres_image(node, log), log)


def _postgres_image(node: Node, log: Log) -> list[str]:
    return app_images.build_all(
        node.engine, app_images.POSTGRES_TAG, log=log, logs=node.layout.logs, images=(app_images.POSTGRES,)
    )


def _load(node: Node, refs: list[str], log: Log) -> list[str]:
    started = time.monotonic()
    loaded = node.engine.load(refs)
    log(f"loaded into the node: {', '.join(loaded) or 'nothing changed'} ({time.monotonic() - started:.1f}s)")
    return refs


def install(
    node: Node,
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
    """Images, broker, namespace, operator chart, then the application chart; waits for every pod Ready.

    `observability`: also the chart's Jaeger and Prometheus, from images of their Go builds."""
    started = time.monotonic()
    if build:
        ensure_images(node, tag, log)
    if observability:
        ensure_observability_images(node, log)
        values = (*values, OBSERVABILITY_VALUES)
    broker = ensure_broker(node, log)
    node.kubectl("apply", "-f", "-", input=yaml.safe_dump(namespace_manifest(namespace)))
    recycle_volumes(node)
    ids = {spec.repository: node.engine.image_id(spec.ref(tag)) or "" for spec in app_images.IMAGES}
    operator_release = None
    if operator:
        operator_release = install_operator(node, namespace, f"{release}-operator", tag, ids["orderflow-operator"])
        log(f"{operator_release} installed ({time.monotonic() - started:.0f}s)")
    service_ids = {s: ids[f"orderflow-{s}"] for s in app_images.SERVICES}
    chosen = app_settings(tag, broker.bootstrap_servers, service_ids, settings)
    helm(node, *helm_upgrade_argv(release, APP_CHART, namespace, values=values, settings=chosen))
    log(f"{release} installed in {namespace}, every pod Ready, {time.monotonic() - started:.0f}s after start")
    return Installed(
        namespace, release, operator_release, broker.bootstrap_servers, tag, tuple(map(str, values)), chosen
    )


def install_operator(node: Node, namespace: str, release: str, tag: str, image_id: str) -> str:
    """charts/orderflow-operator serving only `namespace` (another install on the node has an operator of its
    own), with the node's operator image; the release's name."""
    settings = {
        "image.tag": tag,
        "image.pullPolicy": "Never",
        "strimzi.enabled": "false",
        "watchNamespaces[0]": namespace,
        f"podAnnotations.{IMAGE_ID_ANNOTATION}": image_id,
    }
    helm(node, *helm_upgrade_argv(release, OPERATOR_CHART, namespace, settings=settings))
    return release


def helm_test(node: Node, installed: Installed, timeout: str = "5m") -> str:
    return helm(node, "test", installed.release, "--namespace", installed.namespace, "--logs", "--timeout", timeout)


def uninstall(node: Node, installed: Installed) -> None:
    for release in (installed.release, installed.operator_release):
        if release:
            helm(node, "uninstall", release, "--namespace", installed.namespace, "--wait", "--ignore-not-found")
