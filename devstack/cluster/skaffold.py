"""`orderflow k8s skaffold ARGS`: skaffold (built from its Go module) on the local kind cluster, profile `kind`.

skaffold.yaml's `kind` profile builds the images with BuildKit, loads them into the nodes (`kind load`, which
skaffold runs itself on a `kind-*` context) and deploys both charts with k8s/local-values.yaml. The rest only this
machine knows, and it reaches skaffold through the environment, as a user's CI would pass it:
- PYTHON_IMAGE: the local Debian base, the Dockerfiles' build argument (public registries cannot be reached);
- KUBECONFIG, DOCKER_HOST, DOCKER_CONFIG (with the buildx plugin) and PATH (kind with its docker shim, kubectl,
  helm): the cluster's.
Before skaffold runs, what its charts expect and skaffold does not build is made ready: the namespace (Pod
Security "restricted"), the Strimzi stand-in, the PostgreSQL image of k8s/local-values.yaml and the collector,
Jaeger and Prometheus images of k8s/observability-values.yaml.

"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import yaml

from devstack.cluster.build import ensure_tools
from devstack.cluster.cluster import Cluster
from devstack.cluster.observability import ensure_observability_images
from devstack.cluster.platform import ensure_postgres_image, ensure_standin, namespace_manifest
from devstack.cluster.tools import SKAFFOLD
from devstack.images.base import ensure_base_images

PROFILE = "kind"

Log = Callable[[str], None]


def skaffold_env(cluster: Cluster, namespace: str, python_image: str, base: Mapping[str, str]) -> dict[str, str]:
    """`base` (the caller's environment) with the cluster's tools first on PATH and what the profile reads. The
    profile and namespace go as skaffold's own flag variables (SKAFFOLD_PROFILE, SKAFFOLD_NAMESPACE); the profile's
    templates read SKAFFOLD_NAMESPACE too (operator scope, forward), so the namespace is chosen with `orderflow k8s
    skaffold --namespace`, not with a skaffold `-n` passed through."""
    env = {k: v for k, v in cluster.env(base).items() if not k.startswith("SKAFFOLD_")}
    env["PATH"] = os.pathsep.join([str(SKAFFOLD.bin_dir), env["PATH"]])
    env.update(
        SKAFFOLD_PROFILE=PROFILE,
        SKAFFOLD_NAMESPACE=namespace,
        # No release check and no survey prompt: neither can reach its site from here.
        SKAFFOLD_UPDATE_CHECK="false",
        SKAFFOLD_INTERACTIVE="false",
        PYTHON_IMAGE=python_image,
    )
    return env


def argv(args: list[str]) -> list[str]:
    return [str(SKAFFOLD.binary("skaffold")), *args]


def prepare(cluster: Cluster, namespace: str, log: Log = print) -> dict[str, str]:
    """Everything `skaffold -p kind` needs besides its own builds; the environment to run it in."""
    ensure_tools((SKAFFOLD,), log)
    python_image = ensure_base_images(cluster.engine, log)
    cluster.load([*ensure_postgres_image(cluster, log), *ensure_observability_images(cluster.engine, log)])

    ensure_standin(cluster, log)
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(namespace_manifest(namespace)))
    return skaffold_env(cluster, namespace, python_image, os.environ)
