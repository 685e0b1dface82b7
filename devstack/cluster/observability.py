"""The OpenTelemetry Collector, Jaeger v2 and Prometheus 3 on the local node: FROM-scratch images of the binaries
built from their Go modules (devstack.cluster.build), for the chart's bundled observability
(k8s/observability-values.yaml). The collector is our own assembly of the components the chart's collector
configuration names (devstack/cluster/otelcol), as the collector builder would make it.

Their public images come from registries that cannot be reached here. Each image holds the one binary and the
machine's CA store; the chart runs them read-only as a non-root uid, as it would run the public images.
Without the `builtinassets` tag Prometheus serves its API and no web UI; Jaeger's UI is its placeholder page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devstack.cluster.build import JAEGER, OTELCOL, OTELCOL_VERSION, PROMETHEUS, ensure_tools
from devstack.cluster.node import Node, load_scratch_image

REPO = Path(__file__).resolve().parents[2]
OBSERVABILITY_VALUES = REPO / "k8s" / "observability-values.yaml"
JAEGER_IMAGE = "orderflow.local/jaeger:2.13.0"
PROMETHEUS_IMAGE = "orderflow.local/prometheus:3.16.0"
COLLECTOR_IMAGE = f"orderflow.local/otelcol:{OTELCOL_VERSION.removeprefix('v')}"
CA = Path("/etc/ssl/certs/ca-certificates.crt")

Log = Callable[[str], None]


def ensure_observability_images(node: Node, log: Log = print) -> list[str]:
    """Build the binaries once (cached), then import and load the three images; their references."""
    ensure_tools((OTELCOL, PROMETHEUS, JAEGER), log=log)
    ca = {"etc/ssl/certs/ca-certificates.crt": CA} if CA.exists() else {}
    load_scratch_image(node, COLLECTOR_IMAGE, {"otelcol": OTELCOL.binary("otelcol"), **ca}, "/otelcol")
    load_scratch_image(node, JAEGER_IMAGE, {"jaeger": JAEGER.binary("jaeger"), **ca}, "/jaeger")
    prometheus = {"bin/prometheus": PROMETHEUS.binary("prometheus"), **ca}
    load_scratch_image(node, PROMETHEUS_IMAGE, prometheus, "/bin/prometheus")
    images = [COLLECTOR_IMAGE, JAEGER_IMAGE, PROMETHEUS_IMAGE]
    log(f"loaded into the node: {', '.join(images)}")
    return images
