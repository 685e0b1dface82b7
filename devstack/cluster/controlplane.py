"""Run etcd + kube-apiserver on free 127.0.0.1 ports, recording pids and ports so any process can stop them.

There is no kube-controller-manager, scheduler or kubelet, on purpose: objects are stored, defaulted and
validated, RBAC, CRDs, built-in admission and `helm install` work, but nothing reconciles. So a deleted
Namespace stays Terminating forever (its finalizer is the controller-manager's job), Deployments never get
Pods, `helm install --wait` never returns, and no ServiceAccount `default` appears in new namespaces (the
ServiceAccount admission plugin then refuses Pods that name none). Tests take fresh namespace names.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from devstack import processes
from devstack.cluster.access import Access, User
from devstack.cluster.build import KUBERNETES_VERSION, Binaries, ensure_binaries
from devstack.cluster.crds import install_crds, load_crds
from devstack.cluster.pki import Pki, ensure_pki
from devstack.cluster.strimzicrds import strimzi_crds_dir

STATE_FILE = "state.json"
# Only bookkeeping without kube-proxy: Services get cluster IPs from here, nothing routes to them.
SERVICE_CIDR = "10.96.0.0/16"
Log = Callable[[str], None]


class ClusterError(RuntimeError):
    """The control plane could not be started; the message names the process and the tail of its log."""


@dataclass
class Component:
    """One child process: enough to recognise it (pid + executable) and to read its log."""

    pid: int
    exe: str
    log_file: str
    ports: dict[str, int]

    def alive(self) -> bool:
        return processes.alive(self.pid, Path(self.exe))


@dataclass
class ControlPlane:
    state_dir: Path
    version: str
    kubeconfig: Path
    access: Access
    components: dict[str, Component]
    crds: list[str] = field(default_factory=list)
    started_at: str = ""
    # Popen handles exist only in the process that started the children; they let it reap them.
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    @property
    def server(self) -> str:
        return self.access.server

    def client(self, user: User = "admin", timeout: float = 30.0) -> httpx.Client:
        """An httpx client of the API as admin (system:masters), unprivileged (no RBAC grant) or anonymous."""
        return self.access.client(user, timeout)

    def async_client(self, user: User = "admin", timeout: float = 30.0) -> httpx.AsyncClient:
        return self.access.async_client(user, timeout)

    def alive(self, name: str) -> bool:
        # Our own child's Popen is the authority; /proc is what another process has to go by.
        child = self._children.get(name)
        return child.poll() is None if child is not None else self.components[name].alive()

    def running(self) -> bool:
        return bool(self.components) and all(self.alive(name) for name in self.components)

    def dead_component(self) -> str | None:
        return next((name for name in self.components if not self.alive(name)), None)

    def stop(self) -> bool:
        """Stops the apiserver before its etcd, then forgets the pids; False when nothing was running."""
        stopped = False
        for name in ("kube-apiserver", "etcd"):
            if (c := self.components.get(name)) is not None:
                stopped |= processes.stop(c.pid, Path(c.exe), child=self._children.pop(name, None))
        self.components.clear()
        (self.state_dir / STATE_FILE).unlink(missing_ok=True)
        return stopped

    def save(self) -> None:
        state = {
            "version": self.version,
            "kubeconfig": str(self.kubeconfig),
            "server": self.server,
            "ca_file": str(self.access.ca_file),
            "components": {name: asdict(c) for name, c in self.components.items()},
            "crds": self.crds,
            "started_at": self.started_at,
        }
        path = self.state_dir / STATE_FILE
        path.write_text(json.dumps(state, indent=2))
        path.chmod(0o600)


def load(state_dir: Path) -> ControlPlane | None:
    """The control plane recorded in `state_dir`, whether or not its processes still run."""
    try:
        state = json.loads((state_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    pki = ensure_pki(state_dir / "pki")
    return ControlPlane(
        state_dir=state_dir,
        version=state["version"],
        kubeconfig=Path(state["kubeconfig"]),
        access=Access(state["server"], Path(state["ca_file"]), pki.tokens),
        components={name: Component(**c) for name, c in state["components"].items()},
        crds=state["crds"],
        started_at=state["started_at"],
    )


def stop(state_dir: Path) -> bool:
    plane = load(state_dir)
    return plane.stop() if plane is not None else False


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


def _wait(check: Callable[[], bool], plane: ControlPlane, name: str, timeout: float) -> None:
    component = plane.components[name]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not plane.alive(name):
            tail = processes.log_tail(Path(component.log_file))
            raise ClusterError(f"{name} exited during start-up; log {component.log_file}:\n{tail}")
        try:
            if check():
                return
        except (httpx.HTTPError, ValueError):
            pass  # not listening, or not answering properly, yet
        time.sleep(0.25)
    tail = processes.log_tail(Path(component.log_file))
    raise ClusterError(f"{name} was not ready after {timeout:.0f}s; log {component.log_file}:\n{tail}")


def _start_component(plane: ControlPlane, name: str, argv: list[str], ports: dict[str, int]) -> None:
    log_file = plane.state_dir / "logs" / f"{name}.log"
    child = processes.spawn(argv, log_file)
    plane._children[name] = child
    plane.components[name] = Component(child.pid, argv[0], str(log_file), ports)
    plane.save()  # at once, so a crash of this process still leaves pids for `down`


def _launch(plane: ControlPlane, binaries: Binaries, pki: Pki, ports: list[int], timeout: float) -> None:
    api_port, etcd_port, peer_port = ports
    argv = _etcd_argv(binaries.etcd, plane.state_dir / "etcd", etcd_port, peer_port)
    _start_component(plane, "etcd", argv, {"client": etcd_port, "peer": peer_port})
    etcd_health = f"http://127.0.0.1:{etcd_port}/health"
    with httpx.Client(trust_env=False, timeout=5) as http:
        _wait(lambda: http.get(etcd_health).json().get("health") == "true", plane, "etcd", timeout)

    argv = _apiserver_argv(binaries.kube_apiserver, pki, etcd_port, api_port)
    _start_component(plane, "kube-apiserver", argv, {"secure": api_port})
    with plane.access.client(timeout=5) as client:
        _wait(lambda: client.get("/readyz").text == "ok", plane, "kube-apiserver", timeout)


def start(
    state_dir: Path,
    *,
    crds_dir: Path | None = None,
    install_strimzi: bool = True,
    timeout: float = 120.0,
    log: Log = print,
) -> ControlPlane:
    """Build (once), start and wait for the control plane, then install the CRDs; a running one is reused.

    CRDs come from `crds_dir`, or are Strimzi's, generated once (`strimzi_crds_dir`), unless `install_strimzi` is off.
    On any failure everything started so far is stopped again.
    """
    state_dir = state_dir.resolve()
    existing = load(state_dir)
    if existing is not None and existing.running():
        return existing
    if existing is not None:
        existing.stop()  # half dead: whatever survives of it would hold ports and the etcd data dir
    directory = crds_dir or (strimzi_crds_dir(log) if install_strimzi else None)
    crds = load_crds(directory) if directory is not None else []  # a missing folder fails before any start
    binaries = ensure_binaries(log)
    pki = ensure_pki(state_dir / "pki")
    ports = processes.free_ports(3)  # apiserver, etcd client, etcd peer
    plane = ControlPlane(
        state_dir=state_dir,
        version=KUBERNETES_VERSION,
        kubeconfig=state_dir / "kubeconfig",
        access=Access(f"https://127.0.0.1:{ports[0]}", pki.ca_cert, pki.tokens),
        components={},
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    try:
        _launch(plane, binaries, pki, ports, timeout)
        plane.access.write_kubeconfig(plane.kubeconfig)
        if crds:
            with plane.access.client() as client:
                plane.crds = install_crds(client, crds)
        plane.save()
    except BaseException:
        plane.stop()  # also on Ctrl-C during start-up
        raise
    return plane
