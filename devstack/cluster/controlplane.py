"""The bare API server of the chart tests: etcd + kube-apiserver on free 127.0.0.1 ports, on the daemon runner.

There is no kube-controller-manager, scheduler or kubelet, on purpose: objects are stored, defaulted and
validated, RBAC, CRDs, built-in admission and `helm install` work, but nothing reconciles, and it starts in
seconds where the kind cluster takes minutes. So a deleted Namespace stays Terminating forever (its finalizer is
the controller-manager's job), Deployments never get Pods, `helm install --wait` never returns, and no
ServiceAccount `default` appears in new namespaces (the ServiceAccount admission plugin then refuses Pods that
name none). Tests take fresh namespace names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack import processes
from devstack.cluster.access import Access, User
from devstack.cluster.crds import install_crds, load_crds
from devstack.cluster.daemons import Daemon, Runner
from devstack.cluster.pki import Pki, ensure_pki
from devstack.cluster.strimzicrds import strimzi_crds_dir
from devstack.cluster.tools import KUBERNETES_VERSION, ensure_binaries

# Only bookkeeping without kube-proxy: Services get cluster IPs from here, nothing routes to them.
SERVICE_CIDR = "10.96.0.0/16"
Log = Callable[[str], None]


@dataclass
class ControlPlane:
    runner: Runner
    access: Access
    kubeconfig: Path
    crds: list[str] = field(default_factory=list)
    version: str = KUBERNETES_VERSION

    @property
    def server(self) -> str:
        return self.access.server

    def client(self, user: User = "admin", timeout: float = 30.0) -> httpx.Client:
        """An httpx client of the API as admin (system:masters), unprivileged (no RBAC grant) or anonymous."""
        return self.access.client(user, timeout)

    def async_client(self, user: User = "admin", timeout: float = 30.0) -> httpx.AsyncClient:
        return self.access.async_client(user, timeout)

    def running(self) -> bool:
        return self.runner.running()

    def stop(self) -> bool:
        """The apiserver before its etcd; False when nothing was running."""
        return self.runner.stop()


def _etcd_argv(exe: Path, data_dir: Path, client_port: int, peer_port: int) -> list[str]:
    client, peer = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    return [
        str(exe),
        "--name=orderflow",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=orderflow={peer}",
        "--log-level=warn",
        # A throwaway dev/test store: losing the last writes on a power cut is fine, fsync latency is not.
        "--unsafe-no-fsync",
    ]


def _apiserver_argv(exe: Path, pki: Pki, etcd_port: int, port: int) -> list[str]:
    return [
        str(exe),
        f"--etcd-servers=http://127.0.0.1:{etcd_port}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--token-auth-file={pki.token_file}",
        "--authorization-mode=RBAC",
        f"--service-account-key-file={pki.sa_public_key}",
        f"--service-account-signing-key-file={pki.sa_private_key}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        # The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints validation rejects in a
        # loop; nothing in this cluster needs them.
        "--endpoint-reconciler-type=none",
        "--profiling=false",
    ]


def start(state_dir: Path, *, install_strimzi: bool = True, timeout: float = 120.0, log: Log = print) -> ControlPlane:
    """Build (once), start and wait for the control plane, then install Strimzi's CRDs (generated once,
    `strimzi_crds_dir`) unless `install_strimzi` is off. On any failure everything started is stopped again."""
    state_dir = state_dir.resolve()
    crds = load_crds(strimzi_crds_dir(log)) if install_strimzi else []
    binaries = ensure_binaries(log)
    pki = ensure_pki(state_dir / "pki")
    api_port, etcd_port, peer_port = processes.free_ports(3)
    access = Access(f"https://127.0.0.1:{api_port}", pki.ca_cert, pki.tokens)
    health = f"http://127.0.0.1:{etcd_port}/health"

    def etcd_ready() -> bool:
        with httpx.Client(trust_env=False, timeout=5) as http:
            return bool(http.get(health).json().get("health") == "true")

    def api_ready() -> bool:
        with access.client(timeout=5) as client:
            return client.get("/readyz").text == "ok"

    daemons = [
        Daemon("etcd", _etcd_argv(binaries.etcd, state_dir / "etcd", etcd_port, peer_port), etcd_ready, timeout),
        Daemon(
            "kube-apiserver", _apiserver_argv(binaries.kube_apiserver, pki, etcd_port, api_port), api_ready, timeout
        ),
    ]
    plane = ControlPlane(Runner.load(state_dir), access, state_dir / "kubeconfig")
    try:
        plane.runner.start(daemons, log)
        access.write_kubeconfig(plane.kubeconfig)
        if crds:
            with access.client() as client:
                plane.crds = install_crds(client, crds)
    except BaseException:
        plane.stop()  # also on Ctrl-C during start-up
        raise
    return plane
