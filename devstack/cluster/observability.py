"""Jaeger v2 and Prometheus 3 on the local node: FROM-scratch images of the binaries built from their Go
modules (devstack.cluster.build), for the chart's bundled observability (k8s/observability-values.yaml).

Their public images come from registries that cannot be reached here. Each image holds the one binary and the
machine's CA store; the chart runs them read-only as a non-root uid, as it would run the public images.
Without the `builtinassets` tag Prometheus serves its API and no web UI; Jaeger's UI is its placeholder page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devstack.cluster.build import JAEGER, PROMETHEUS, ensure_tools
from devstack.cluster.node import Node, load_scratch_image

REPO = Path(__file__).resolve().parents[2]
OBSERVABILITY_VALUES = REPO / "k8s" / "observability-values.yaml"
JAEGER_IMAGE = "orderflow.local/jaeger:2.13.0"
PROMETHEUS_IMAGE = "orderflow.local/prometheus:3.16.0"
CA = Path("/etc/ssl/certs/ca-certificates.crt")

Log = Callable[[str], None]


def ensure_observability_images(node: Node, log: Log = print) -> list[str]:
    """Build the binaries once (cached), then import and load the two images; their references."""
    ensure_tools((PROMETHEUS, JAEGER), log=log)
    ca = {"etc/ssl/certs/ca-certificates.crt": CA} if CA.exists() else {}
    load_scratch_image(node, JAEGER_IMAGE, {"jaeger": JAEGER.binary("jaeger"), **ca}, "/jaeger")
    prometheus = {"bin/prometheus": PROMETHEUS.binary("prometheus"), **ca}
    load_scratch_image(node, PROMETHEUS_IMAGE, prometheus, "/bin/prometheus")
    log(f"loaded into the node: {JAEGER_IMAGE}, {PROMETHEUS_IMAGE}")
    return [JAEGER_IMAGE, PROMETHEUS_IMAGE]
