"""The OpenTelemetry Collector, Jaeger v2 and Prometheus 3 on the local cluster: FROM-scratch images of the binaries
built from their Go modules (devstack.cluster.tools), for the chart's bundled observability
(k8s/observability-values.yaml). The collector is our own assembly of the components the chart's collector
configuration names (devstack/cluster/otelcol), as the collector builder would make it.

Their public images come from registries that cannot be reached here. Each image holds the one binary and the
machine's CA store; the chart runs them read-only as a non-root uid, as it would run the public images.
Without the `builtinassets` tag Prometheus serves its API and no web UI; Jaeger's UI is its placeholder page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devstack.cluster.build import ensure_tools
from devstack.cluster.tools import JAEGER, OTELCOL, OTELCOL_VERSION, PROMETHEUS
from devstack.images.engine import Engine

REPO = Path(__file__).resolve().parents[2]
OBSERVABILITY_VALUES = REPO / "k8s" / "observability-values.yaml"
JAEGER_IMAGE = "orderflow.local/jaeger:2.13.0"
PROMETHEUS_IMAGE = "orderflow.local/prometheus:3.16.0"
COLLECTOR_IMAGE = f"orderflow.local/otelcol:{OTELCOL_VERSION.removeprefix('v')}"
CA = Path("/etc/ssl/certs/ca-certificates.crt")

Log = Callable[[str], None]


def ensure_observability_images(engine: Engine, log: Log = print) -> list[str]:
    """Build the binaries once (cached), then the three images in the engine; their references."""
    ensure_tools((OTELCOL, PROMETHEUS, JAEGER), log=log)
    ca = {"etc/ssl/certs/ca-certificates.crt": CA} if CA.exists() else {}
    images = {
        COLLECTOR_IMAGE: ({"otelcol": OTELCOL.binary("otelcol"), **ca}, "/otelcol"),
        JAEGER_IMAGE: ({"jaeger": JAEGER.binary("jaeger"), **ca}, "/jaeger"),
        PROMETHEUS_IMAGE: ({"bin/prometheus": PROMETHEUS.binary("prometheus"), **ca}, "/bin/prometheus"),
    }
    for ref, (files, entrypoint) in images.items():
        engine.ensure_image(ref, files, (f'ENTRYPOINT ["{entrypoint}"]',))
    return list(images)
