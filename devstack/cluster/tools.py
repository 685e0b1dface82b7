"""Every Go tool of the local Kubernetes and its add-ons, pinned: which module, version and main packages.

How they are built is devstack.cluster.build; this module only declares them, each with why that version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devstack.cluster.build import Log, ensure_tools
from devstack.cluster.gotool import GoTool

KUBERNETES_VERSION = "v1.37.2"
# kubeadm v1.37.2 asks for etcd 3.7.0-0, CoreDNS v1.14.6 and pause 3.10.2 (`kubeadm config images list`); the
# node image carries exactly those, under the names kubeadm prints (devstack.cluster.nodeimages checks them).
ETCD_VERSION = "v3.7.0"
COREDNS_VERSION = "v1.14.6"
HELM_VERSION = "v4.3.1"
# v0.38.2 works against Debian's dockerd 20.10 (API 1.41) with the default "docker" driver (tried).
BUILDX_VERSION = "v0.38.2"
CRICTL_VERSION = "v1.37.0"
# kind's own base image pins containerd v2.3.4, runc v1.4.3 and the CNI plugins v1.9.1 (images/base/Dockerfile of
# sigs.k8s.io/kind v0.33.0): the node runs what kind is tested with.
KIND_VERSION = "v0.33.0"
CONTAINERD_VERSION = "v2.3.4"
RUNC_VERSION = "v1.4.3"
CNI_PLUGINS_VERSION = "v1.9.1"
# The only version the module proxy serves. It is the node's CNI because it enforces NetworkPolicies with
# iptables and ipset, which this kernel has; kindnet's policy engine queues packets to user space (nft queue),
# which it has not. A local development cluster only: it never ships.
KUBE_ROUTER_VERSION = "v2.1.0"
LOCAL_PATH_VERSION = "v0.0.33"
# The developer loop and the observability of the local cluster (see each tool below for why that version).
SKAFFOLD_VERSION = "v2.19.0"
COMPOSE_VERSION = "v2.40.3"
PROMETHEUS_VERSION = "v0.316.0"  # the Go module of Prometheus 3.16.0
JAEGER_VERSION = "v1.76.0"  # the module's tags stay v1; cmd/jaeger is Jaeger v2 (2.13.0)
KEDA_VERSION = "v2.21.0"
REGISTRY_VERSION = "v3.1.2"  # github.com/distribution/distribution: the OCI registry the release test pushes to
COSIGN_VERSION = "v2.6.5"
SYFT_VERSION = "v1.57.2"
HELM_DOCS_VERSION = "v1.14.2"
# The collector release Jaeger v1.76.0 is built on (core v0.140.0, stable modules v1.46.0, contrib v0.140.1): the
# two builds then share compiled packages, and the chart's collector speaks what its Jaeger does.
OTELCOL_VERSION = "v0.140.0"
OTELCOL_STABLE_VERSION = "v1.46.0"
OTELCOL_CONTRIB_VERSION = "v0.140.1"

# One `go build` for every binary of the kubernetes module: kubelet alone takes ~10 minutes cold on 2 cores and
# the others share most of its packages.
KUBERNETES = GoTool(
    "kubernetes",
    "k8s.io/kubernetes",
    KUBERNETES_VERSION,
    {
        name: f"k8s.io/kubernetes/cmd/{name}"
        for name in (
            "kubelet",
            "kube-proxy",
            "kube-controller-manager",
            "kube-scheduler",
            "kube-apiserver",
            "kubectl",
            "kubeadm",
        )
    },
    staging=True,
)
# etcd's version is a constant in go.etcd.io/etcd/api/v3/version; only its git SHA is a linker variable.
ETCD = GoTool("etcd", "go.etcd.io/etcd/server/v3", ETCD_VERSION, {"etcd": "go.etcd.io/etcd/server/v3"})
HELM = GoTool(
    "helm",
    "helm.sh/helm/v4",
    HELM_VERSION,
    {"helm": "helm.sh/helm/v4/cmd/helm"},
    {"helm.sh/helm/v4/internal/version.version": HELM_VERSION},
)
COREDNS = GoTool(
    "coredns",
    "github.com/coredns/coredns",
    COREDNS_VERSION,
    {"coredns": "github.com/coredns/coredns"},
    {"github.com/coredns/coredns/coremain.GitCommit": COREDNS_VERSION},
)
BUILDX = GoTool(
    "buildx",
    "github.com/docker/buildx",
    BUILDX_VERSION,
    {"docker-buildx": "github.com/docker/buildx/cmd/buildx"},
    {
        "github.com/docker/buildx/version.Version": BUILDX_VERSION,
        "github.com/docker/buildx/version.Package": "github.com/docker/buildx",
    },
)
CRICTL = GoTool(
    "cri-tools",
    "sigs.k8s.io/cri-tools",
    CRICTL_VERSION,
    {"crictl": "sigs.k8s.io/cri-tools/cmd/crictl"},
    {"sigs.k8s.io/cri-tools/pkg/version.Version": CRICTL_VERSION},
)
KIND = GoTool("kind", "sigs.k8s.io/kind", KIND_VERSION, {"kind": "sigs.k8s.io/kind"})
_CONTAINERD = "github.com/containerd/containerd/v2"
CONTAINERD = GoTool(
    "containerd",
    _CONTAINERD,
    CONTAINERD_VERSION,
    {name: f"{_CONTAINERD}/cmd/{name}" for name in ("containerd", "containerd-shim-runc-v2", "ctr")},
    {f"{_CONTAINERD}/version.Version": CONTAINERD_VERSION},
    tags=("no_aufs", "no_zfs", "no_btrfs", "no_devmapper"),
)
# runc's nsenter is C and pods ask for the RuntimeDefault seccomp profile: cgo with Debian's libseccomp-dev.
RUNC = GoTool(
    "runc",
    "github.com/opencontainers/runc",
    RUNC_VERSION,
    {"runc": "github.com/opencontainers/runc"},
    {"main.version": RUNC_VERSION.removeprefix("v")},
    tags=("seccomp",),
    cgo=True,
)
_PLUGINS = "github.com/containernetworking/plugins/plugins"
# kube-router's CNI configuration chains bridge (with host-local addresses) and portmap; loopback for every pod.
CNI_PLUGINS = GoTool(
    "cni-plugins",
    "github.com/containernetworking/plugins",
    CNI_PLUGINS_VERSION,
    {
        "bridge": f"{_PLUGINS}/main/bridge",
        "loopback": f"{_PLUGINS}/main/loopback",
        "host-local": f"{_PLUGINS}/ipam/host-local",
        "portmap": f"{_PLUGINS}/meta/portmap",
    },
)
KUBE_ROUTER = GoTool(
    "kube-router",
    "github.com/cloudnativelabs/kube-router/v2",
    KUBE_ROUTER_VERSION,
    {"kube-router": "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"},
    {"github.com/cloudnativelabs/kube-router/v2/pkg/version.Version": KUBE_ROUTER_VERSION},
    inherit_replaces=True,
)
LOCAL_PATH = GoTool(
    "local-path-provisioner",
    "github.com/rancher/local-path-provisioner",
    LOCAL_PATH_VERSION,
    {"local-path-provisioner": "github.com/rancher/local-path-provisioner"},
    {"main.VERSION": LOCAL_PATH_VERSION},
)
# skaffold: the proxy serves v2.19.0 (not v2.16.2-v2.21.0), the first whose schema is v4beta13; its go.mod pins
# k8s.io/* v0.33 and buildpacks by replace, and sum.golang.org has no entry for the tag.
SKAFFOLD = GoTool(
    "skaffold",
    "github.com/GoogleContainerTools/skaffold/v2",
    SKAFFOLD_VERSION,
    {"skaffold": "github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold"},
    {"github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version": SKAFFOLD_VERSION},
    inherit_replaces=True,
    nosumdb=True,
)
# Compose v2 as a Docker CLI plugin (cli-plugins/docker-compose), for the compose.yaml of Docker-only users.
COMPOSE = GoTool(
    "compose",
    "github.com/docker/compose/v2",
    COMPOSE_VERSION,
    {"docker-compose": "github.com/docker/compose/v2/cmd"},
    {"github.com/docker/compose/v2/internal.Version": COMPOSE_VERSION},
)
PROMETHEUS = GoTool(
    "prometheus",
    "github.com/prometheus/prometheus",
    PROMETHEUS_VERSION,
    {
        "prometheus": "github.com/prometheus/prometheus/cmd/prometheus",
        "promtool": "github.com/prometheus/prometheus/cmd/promtool",
    },
    {"github.com/prometheus/common/version.Version": "3.16.0"},
    # Only the Kubernetes service discovery the chart's scrape configs use: the cloud SDKs of the other 25
    # mechanisms are a sixth of the packages and a third of the binaries.
    tags=("remove_all_sd", "enable_kubernetes_sd"),
)
JAEGER = GoTool(
    "jaeger",
    "github.com/jaegertracing/jaeger",
    JAEGER_VERSION,
    {"jaeger": "github.com/jaegertracing/jaeger/cmd/jaeger"},
    {"github.com/jaegertracing/jaeger/internal/version.latestVersion": "v2.13.0"},
    inherit_replaces=True,
)
_CORE = "go.opentelemetry.io/collector"
# The chart's collector (orderflow.collector.config): devstack/cluster/otelcol/main.go, the program the collector
# builder would generate for these components.
OTELCOL = GoTool(
    "otelcol",
    f"{_CORE}/otelcol",
    OTELCOL_VERSION,
    {"otelcol": "."},
    {"main.version": OTELCOL_VERSION.removeprefix("v")},
    source=Path(__file__).with_name("otelcol"),
    requires={
        **{
            f"{_CORE}/{name}": OTELCOL_STABLE_VERSION
            for name in ("component", "confmap", "confmap/provider/envprovider", "confmap/provider/fileprovider")
        },
        **{f"{_CORE}/{name}": OTELCOL_STABLE_VERSION for name in ("exporter", "extension", "processor", "receiver")},
        **{
            f"{_CORE}/{name}": OTELCOL_VERSION
            for name in (
                "exporter/debugexporter",
                "exporter/otlpexporter",
                "processor/batchprocessor",
                "processor/memorylimiterprocessor",
                "receiver/otlpreceiver",
                "service",
            )
        },
        "github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension": (
            OTELCOL_CONTRIB_VERSION
        ),
    },
)
# KEDA's operator and metrics API server, for the side-by-side scaler bench: their own module graph (k8s.io/api
# v0.36, never linked with our 1.37 code), which resolves only with KEDA's nexus-proto-annotations replace.
KEDA = GoTool(
    "keda",
    "github.com/kedacore/keda/v2",
    KEDA_VERSION,
    {"keda": "github.com/kedacore/keda/v2/cmd/operator", "keda-adapter": "github.com/kedacore/keda/v2/cmd/adapter"},
    {"github.com/kedacore/keda/v2/version.Version": KEDA_VERSION},
    inherit_replaces=True,
)

# `make release`: an SBOM per image (syft), signatures of images and charts (cosign), the chart's README from its
# values (helm-docs); its test pushes everything to a local OCI registry (distribution's).
REGISTRY = GoTool(
    "registry",
    "github.com/distribution/distribution/v3",
    REGISTRY_VERSION,
    {"registry": "github.com/distribution/distribution/v3/cmd/registry"},
    {"github.com/distribution/distribution/v3/version.version": REGISTRY_VERSION},
)
COSIGN = GoTool(
    "cosign",
    "github.com/sigstore/cosign/v2",
    COSIGN_VERSION,
    {"cosign": "github.com/sigstore/cosign/v2/cmd/cosign"},
    {"sigs.k8s.io/release-utils/version.gitVersion": COSIGN_VERSION},
)
SYFT = GoTool(
    "syft",
    "github.com/anchore/syft",
    SYFT_VERSION,
    {"syft": "github.com/anchore/syft/cmd/syft"},
    {"main.version": SYFT_VERSION.removeprefix("v")},
)
HELM_DOCS = GoTool(
    "helm-docs",
    "github.com/norwoodj/helm-docs",
    HELM_DOCS_VERSION,
    {"helm-docs": "github.com/norwoodj/helm-docs/cmd/helm-docs"},
    {"main.version": HELM_DOCS_VERSION.removeprefix("v")},
)
RELEASE_TOOLS: tuple[GoTool, ...] = (REGISTRY, COSIGN, SYFT)

# The bare API server of the chart tests; what the kind node image is made of (devstack.cluster.nodeimage); what
# `orderflow k8s up` needs on the machine itself besides.
CONTROL_PLANE_TOOLS: tuple[GoTool, ...] = (KUBERNETES, ETCD, HELM)
NODE_IMAGE_TOOLS: tuple[GoTool, ...] = (
    KUBERNETES,
    ETCD,
    COREDNS,
    CONTAINERD,
    RUNC,
    CRICTL,
    CNI_PLUGINS,
    KUBE_ROUTER,
    LOCAL_PATH,
)
CLUSTER_TOOLS: tuple[GoTool, ...] = (*NODE_IMAGE_TOOLS, HELM, KIND, BUILDX)


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    etcd: Path
    helm: Path
    kubectl: Path


def ensure_binaries(log: Log = print) -> Binaries:
    """Paths of the bare control plane's binaries (and helm, kubectl), building whichever is missing."""
    ensure_tools(CONTROL_PLANE_TOOLS, log)
    k8s = KUBERNETES.binary
    return Binaries(k8s("kube-apiserver"), ETCD.binary("etcd"), HELM.binary("helm"), k8s("kubectl"))
