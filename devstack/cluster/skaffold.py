"""`orderflow k8s skaffold ARGS`: skaffold (built from its Go module) on the local node, profile `node`.

skaffold.yaml's `node` profile pushes the four images into the node's registry (`up --node --registry`), which
containerd pulls from, and deploys both charts with k8s/local-values.yaml. The rest only this machine knows, and
it reaches skaffold through the environment, as a user's CI would pass it:
- SKAFFOLD_DEFAULT_REPO: that registry;
- PYTHON_IMAGE: the local Debian base, the Dockerfiles' build argument (public registries cannot be reached);
- KAFKA_BOOTSTRAP_SERVERS: the devstack broker on the node IP (the chart's kafka.bootstrapServers);
- KUBECONFIG, DOCKER_HOST, DOCKER_CONFIG (with the buildx plugin) and PATH (kubectl, helm): the node's.
Before skaffold runs, what its charts expect and skaffold does not build is made ready: the namespace
(Pod Security "restricted"), the broker and the PostgreSQL image of k8s/local-values.yaml.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import yaml

from devstack.cluster import nodeconfig as cfg
from devstack.cluster.build import HELM, KUBERNETES, SKAFFOLD, ensure_tools
from devstack.cluster.controlplane import ClusterError
from devstack.cluster.node import Node
from devstack.cluster.platform import ensure_broker, ensure_postgres_image, namespace_manifest
from devstack.images.base import ensure_base_images

PROFILE = "node"
DEFAULT_REPO = f"localhost:{cfg.PORTS['registry']}"  # the name containerd's mirror (hosts.toml) is keyed on

Log = Callable[[str], None]


def skaffold_env(
    node: Node, namespace: str, python_image: str, bootstrap_servers: str, base: Mapping[str, str]
) -> dict[str, str]:
    """`base` (the caller's environment) with the node's tools first on PATH and what the `node` profile reads.
    The profile and namespace go as skaffold's own flag variables (SKAFFOLD_PROFILE, SKAFFOLD_NAMESPACE). The
    profile's templates read SKAFFOLD_NAMESPACE too (operator scope, topic prefix, forward), so the namespace is
    chosen with `orderflow k8s skaffold --namespace`, not with a skaffold `-n` passed through."""
    path = os.pathsep.join([*(str(tool.bin_dir) for tool in (KUBERNETES, HELM)), base.get("PATH", os.defpath)])
    drop = ("DOCKER_", "BUILDX_", "SKAFFOLD_", "KUBECONFIG")
    env = {k: v for k, v in base.items() if not k.startswith(drop)}
    env.update(
        KUBECONFIG=str(node.kubeconfig),
        DOCKER_HOST=f"unix://{node.layout.docker_sock}",
        DOCKER_CONFIG=str(node.layout.docker_config),
        PATH=path,
        SKAFFOLD_PROFILE=PROFILE,
        SKAFFOLD_NAMESPACE=namespace,
        SKAFFOLD_DEFAULT_REPO=DEFAULT_REPO,
        # No release check and no survey prompt: neither can reach its site from here.
        SKAFFOLD_UPDATE_CHECK="false",
        SKAFFOLD_INTERACTIVE="false",
        PYTHON_IMAGE=python_image,
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
    )
    return env


def argv(args: list[str]) -> list[str]:
    return [str(SKAFFOLD.binary("skaffold")), *args]


def prepare(node: Node, namespace: str, log: Log = print) -> dict[str, str]:
    """Everything `skaffold -p node` needs besides its own builds; the environment to run it in."""
    if not node.registry:
        raise ClusterError(
            "the node runs without its registry, which the skaffold profile pushes to: "
            "run `orderflow k8s up --node --registry` (it adds the registry to the running node)"
        )
    ensure_tools((SKAFFOLD,), log)
    python_image = ensure_base_images(node.engine, log)
    ensure_postgres_image(node, log)
    broker = ensure_broker(node, log)
    node.kubectl("apply", "-f", "-", input=yaml.safe_dump(namespace_manifest(namespace)))
    return skaffold_env(node, namespace, python_image, broker.bootstrap_servers, os.environ)
