"""A real single-node Kubernetes on this machine: containerd + runc with the CNI bridge, dockerd for builds,
etcd, kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy (iptables) and CoreDNS as a pod.

Every daemon is started by pid (`processes.spawn`), in order, each one checked ready before the next, and
recorded in <state>/node.json at once, so `down` from any process stops exactly what was started, in reverse,
and then takes back what the daemons changed on the machine (`host.py`). A second `up` starts only what does
not run. One node per machine: the pod network, cni0 and iptables are machine-wide; /run/orderflow-node.json
says which state dir runs it. Needs root and the Debian packages of scripts/install-node.sh.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from devstack import processes
from devstack.cache import cache_dir
from devstack.cluster import addons, host
from devstack.cluster import nodeconfig as cfg
from devstack.cluster.access import Access
from devstack.cluster.build import (
    BUILDX,
    COREDNS,
    CRICTL,
    ETCD,
    HELM,
    KUBERNETES,
    KUBERNETES_VERSION,
    NODE_TOOLS,
    REGISTRY,
    ensure_pause,
    ensure_tools,
)
from devstack.cluster.controlplane import ClusterError, Component
from devstack.cluster.nodepki import ensure_node_pki
from devstack.cluster.pki import _read_tokens
from devstack.images.engine import Engine
from devstack.kafka.broker import LocalBroker

STATE_FILE = "node.json"
MARKER = Path("/run/orderflow-node.json")
# Variables the daemons would read as their own configuration (etcd takes every ETCD_*, the registry every
# REGISTRY_*) or that would point our CLIs elsewhere.
_ENV_DROP = ("ETCD_", "REGISTRY_", "KUBECONFIG", "DOCKER_", "CONTAINERD_", "BUILDKIT_")
Log = Callable[[str], None]


def default_store() -> Path:
    """Image stores shared by every node of the machine: builds and imports survive `down` and temp state dirs."""
    return cache_dir("node", "store")


def child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_ENV_DROP)}


@dataclass(frozen=True)
class Spec:
    """One daemon: how to start it, the (host, port) pairs it binds, and when it counts as ready."""

    name: str
    argv: list[str]
    ports: dict[str, tuple[str, int]]
    timeout: float = 60.0


def specs(layout: cfg.Layout, net: cfg.Network, registry: bool) -> list[Spec]:
    """The daemons in start order (pure)."""
    k8s = KUBERNETES.binary
    loopback = "127.0.0.1"
    daemons = [
        Spec("containerd", cfg.containerd_argv(layout), {}, 30),
        Spec("dockerd", cfg.dockerd_argv(layout), {}, 60),
    ]
    if registry:
        argv = [str(REGISTRY.binary("registry")), "serve", str(layout.config / "registry.yaml")]
        daemons.append(Spec("registry", argv, {"http": (loopback, cfg.PORTS["registry"])}, 20))
    etcd_ports = {n: (loopback, cfg.PORTS[n]) for n in ("etcd", "etcd-peer", "etcd-metrics")}
    daemons += [
        Spec("etcd", cfg.etcd_argv(ETCD.binary("etcd"), layout), etcd_ports, 30),
        Spec(
            "kube-apiserver",
            cfg.apiserver_argv(k8s("kube-apiserver"), layout, net),
            {"secure": ("0.0.0.0", cfg.PORTS["kube-apiserver"])},
            90,
        ),
        Spec(
            "kube-controller-manager",
            cfg.controller_manager_argv(k8s("kube-controller-manager"), layout),
            {"secure": (loopback, cfg.PORTS["kube-controller-manager"])},
        ),
        Spec(
            "kube-scheduler",
            cfg.scheduler_argv(k8s("kube-scheduler"), layout),
            {"secure": (loopback, cfg.PORTS["kube-scheduler"])},
        ),
        Spec(
            "kubelet",
            cfg.kubelet_argv(k8s("kubelet"), layout, net),
            {"server": (net.node_ip, cfg.PORTS["kubelet"]), "healthz": (loopback, cfg.PORTS["kubelet-healthz"])},
        ),
        Spec(
            "kube-proxy",
            cfg.kube_proxy_argv(k8s("kube-proxy"), layout),
            {n: (loopback, cfg.PORTS[n]) for n in ("kube-proxy-healthz", "kube-proxy-metrics")},
            30,
        ),
    ]
    return daemons


def stop_order(names: list[str]) -> list[str]:
    return list(reversed(names))


@dataclass
class Node:
    layout: cfg.Layout
    net: cfg.Network
    registry: bool = False
    components: dict[str, Component] = field(default_factory=dict)
    started_at: str = ""
    forward_policy: str = ""
    sysctls: dict[str, str] = field(default_factory=dict)
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    # -- access ---------------------------------------------------------------------------------------------

    @property
    def state_dir(self) -> Path:
        return self.layout.state

    @property
    def kubeconfig(self) -> Path:
        return self.layout.state / "kubeconfig"

    @property
    def access(self) -> Access:
        return Access(self.net.api_server, self.layout.pki / "ca.crt", _read_tokens(self.layout.pki / "tokens.csv"))

    @property
    def server(self) -> str:
        return self.net.api_server

    def client(self, timeout: float = 30.0) -> httpx.Client:
        return self.access.client("admin", timeout)

    @property
    def engine(self) -> Engine:
        return Engine(
            self.layout.docker_sock, self.layout.docker_config, self.layout.containerd_sock, CRICTL.binary("crictl")
        )

    def broker(self) -> LocalBroker:
        """The devstack Kafka broker of this node (started by `install`), on the node IP so pods reach it."""
        return LocalBroker(self.layout.state / "kafka", port=0, host=self.net.node_ip)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 300) -> str:
        argv = [str(KUBERNETES.binary("kubectl")), f"--kubeconfig={self.kubeconfig}", *args]
        done = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args[:3])} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def env(self) -> dict[str, str]:
        """What a shell needs to use this node: kubectl, helm, docker (with buildx) and crictl."""
        path = os.pathsep.join(str(tool.bin_dir) for tool in (KUBERNETES, HELM, CRICTL))
        return {
            "KUBECONFIG": str(self.kubeconfig),
            "DOCKER_HOST": f"unix://{self.layout.docker_sock}",
            "DOCKER_CONFIG": str(self.layout.docker_config),
            "CONTAINER_RUNTIME_ENDPOINT": f"unix://{self.layout.containerd_sock}",
            "PATH": f"{path}:$PATH",
        }

    # -- processes ------------------------------------------------------------------------------------------

    def alive(self, name: str) -> bool:
        child = self._children.get(name)
        if child is not None:
            return child.poll() is None
        component = self.components.get(name)
        return component is not None and component.alive()

    def running(self) -> bool:
        return bool(self.components) and all(self.alive(name) for name in self.components)

    def dead_component(self) -> str | None:
        return next((name for name in self.components if not self.alive(name)), None)

    def save(self) -> None:
        state = {
            "state": str(self.layout.state),
            "store": str(self.layout.store),
            "node_ip": self.net.node_ip,
            "node_name": self.net.node_name,
            "mtu": self.net.mtu,
            "registry": self.registry,
            "components": {name: asdict(c) for name, c in self.components.items()},
            "started_at": self.started_at,
            "forward_policy": self.forward_policy,
            "sysctls": self.sysctls,
        }
        path = self.layout.state / STATE_FILE
        path.write_text(json.dumps(state, indent=2))
        path.chmod(0o600)

    def _start(self, spec: Spec, log: Log) -> None:
        for what, (address, port) in spec.ports.items():
            if processes.port_in_use(port, address):
                raise ClusterError(
                    f"port {port} ({spec.name} {what}) on {address} is taken by another process; "
                    f"another Kubernetes or an earlier node may still run (`orderflow k8s status --node`)"
                )
        log_file = self.layout.logs / f"{spec.name}.log"
        child = processes.spawn(spec.argv, log_file, env=child_env())
        self._children[spec.name] = child
        self.components[spec.name] = Component(
            child.pid, spec.argv[0], str(log_file), {k: p for k, (_, p) in spec.ports.items()}
        )
        self.save()  # at once, so a crash of this process still leaves the pid for `down`

    def wait(self, name: str, check: Callable[[], bool], timeout: float, what: str = "ready") -> float:
        """Poll `check` until it holds; ClusterError naming the log when the daemon dies or time runs out."""
        started = time.monotonic()
        log_file = self.components[name].log_file if name in self.components else "(no log)"
        while True:
            if name in self.components and not self.alive(name):
                raise ClusterError(
                    f"{name} exited during start-up; see {log_file}:\n{processes.log_tail(Path(log_file))}"
                )
            with contextlib.suppress(httpx.HTTPError, OSError, ValueError, subprocess.SubprocessError):
                if check():
                    return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise ClusterError(
                    f"{name} was not {what} after {timeout:.0f}s; see {log_file}:\n{processes.log_tail(Path(log_file))}"
                )
            time.sleep(0.2)

    # -- health checks --------------------------------------------------------------------------------------

    def healthy(self, name: str) -> bool:
        checks: dict[str, Callable[[], bool]] = {
            "containerd": lambda: self.engine.ctr("version", check=False).returncode == 0,
            "dockerd": lambda: _get("http://docker/_ping", uds=self.layout.docker_sock) == "OK",
            "registry": lambda: _get(f"http://127.0.0.1:{cfg.PORTS['registry']}/v2/") is not None,
            "etcd": lambda: '"health":"true"' in (_get(f"http://127.0.0.1:{cfg.PORTS['etcd-metrics']}/health") or ""),
            "kube-apiserver": self._api_ready,
            "kube-controller-manager": lambda: (
                _get(f"https://127.0.0.1:{cfg.PORTS['kube-controller-manager']}/healthz") == "ok"
            ),
            "kube-scheduler": lambda: _get(f"https://127.0.0.1:{cfg.PORTS['kube-scheduler']}/healthz") == "ok",
            "kubelet": lambda: _get(f"http://127.0.0.1:{cfg.PORTS['kubelet-healthz']}/healthz") == "ok",
            "kube-proxy": lambda: _get(f"http://127.0.0.1:{cfg.PORTS['kube-proxy-healthz']}/healthz") is not None,
        }
        try:
            return checks[name]()
        except (httpx.HTTPError, OSError, subprocess.SubprocessError):
            return False

    def _api_ready(self) -> bool:
        with self.client(timeout=5) as client:
            return client.get("/readyz").text == "ok"

    def node_ready(self) -> bool:
        with self.client(timeout=5) as client:
            response = client.get(f"/api/v1/nodes/{self.net.node_name}")
            if response.status_code != 200:
                return False
            conditions = response.json().get("status", {}).get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def status(self) -> dict[str, str]:
        """Each daemon: "running" (and healthy), "unhealthy" or "gone"; plus the node and CoreDNS."""
        result = {}
        for name in self.components:
            result[name] = ("running" if self.healthy(name) else "unhealthy") if self.alive(name) else "gone"
        broker = self.broker().running()
        if broker is not None or self.broker().state() is not None:
            result["kafka"] = f"running at {broker.bootstrap_servers}" if broker else "gone"
        if self.alive("kube-apiserver"):
            try:
                result["node"] = "Ready" if self.node_ready() else "NotReady"
                ready = self.kubectl(
                    "-n", "kube-system", "get", "deploy/coredns", "-o", "jsonpath={.status.readyReplicas}", check=False
                )
                result["coredns"] = "ready" if ready.strip() == "1" else "not ready"
            except (httpx.HTTPError, OSError, subprocess.SubprocessError):
                result["node"] = "unknown"
        return result

    # -- stop -----------------------------------------------------------------------------------------------

    def stop(self, log: Log = print) -> bool:
        """Stop every daemon in reverse order, pods first, then take back what they changed on the machine."""
        host.require_root("orderflow k8s down")
        stopped = self.broker().stop()
        order = stop_order(list(self.components))

        def stop_one(name: str, timeout: float = 20.0) -> None:
            nonlocal stopped
            component = self.components.get(name)
            if component is not None:
                stopped |= processes.stop(component.pid, Path(component.exe), timeout, self._children.pop(name, None))

        for name in ("registry", "kube-proxy", "kubelet"):
            stop_one(name)
        if self.alive("containerd") and CRICTL.binary("crictl").exists():
            # While containerd runs: every sandbox stopped and removed through CRI, so the CNI plugins get DEL
            # (veth, IP, CNI-* chains, netns) and containerd unmounts shm and rootfs.
            crictl = [
                str(CRICTL.binary("crictl")),
                "--runtime-endpoint",
                f"unix://{self.layout.containerd_sock}",
                "--timeout",
                "30s",
            ]
            for _ in range(2):
                if (
                    subprocess.run([*crictl, "rmp", "-af"], capture_output=True, check=False, timeout=120).returncode
                    == 0
                ):
                    break
        for name in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
            stop_one(name)
        if self.alive("dockerd"):
            ids = self.engine.docker("ps", "-aq", check=False).stdout.decode().split()
            if ids:
                self.engine.docker("rm", "-f", *ids, check=False)
        stop_one("dockerd", 30)
        if self.alive("containerd"):
            self._kill_tasks()
        stop_one("containerd", 30)
        for name in order:  # anything recorded that the list above does not know
            stop_one(name)
        self.clean_machine(log)
        self.components.clear()
        (self.layout.state / STATE_FILE).unlink(missing_ok=True)
        if _marker_state() == self.layout.state:
            MARKER.unlink(missing_ok=True)
        return stopped

    def _kill_tasks(self) -> None:
        ctr = ["/usr/bin/ctr", "--address", str(self.layout.containerd_sock)]
        namespaces = subprocess.run(
            [*ctr, "namespaces", "ls", "-q"], capture_output=True, text=True, check=False
        ).stdout.split()
        for ns in namespaces:
            tasks = subprocess.run(
                [*ctr, "-n", ns, "tasks", "ls", "-q"], capture_output=True, text=True, check=False
            ).stdout.split()
            for task in tasks:
                subprocess.run(
                    [*ctr, "-n", ns, "tasks", "kill", "-s", "SIGKILL", task], capture_output=True, check=False
                )
                time.sleep(0.2)
                subprocess.run([*ctr, "-n", ns, "tasks", "delete", "-f", task], capture_output=True, check=False)

    def clean_machine(self, log: Log = print) -> None:
        """Mounts, pod network namespaces, iptables rules and chains, cni0/docker0, sysctls, host paths."""
        host.unmount_all([self.layout.state, self.layout.store])
        host.remove_netns()
        keep_docker = host.system_docker_running()
        proxy = KUBERNETES.binary("kube-proxy")
        if proxy.exists():
            subprocess.run([str(proxy), "--cleanup"], capture_output=True, check=False, timeout=60)
        host.remove_iptables(keep_docker)
        if self.forward_policy and not keep_docker:
            host.set_forward_policy(self.forward_policy)
        host.remove_links(keep_docker)
        if self.sysctls:
            host.write_sysctls(self.sysctls)
        host.remove_host_paths(self.layout.state)
        for directory in (self.layout.run, self.layout.cni_ipam):
            subprocess.run(["rm", "-rf", str(directory)], check=False)


def _get(url: str, uds: Path | None = None) -> str | None:
    transport = httpx.HTTPTransport(uds=str(uds)) if uds else None
    with httpx.Client(verify=False, trust_env=False, timeout=3, transport=transport) as client:
        response = client.get(url)
    return response.text if response.is_success else None


def _marker_state() -> Path | None:
    try:
        return Path(json.loads(MARKER.read_text())["state"])
    except (OSError, ValueError, KeyError):
        return None


def load(state_dir: Path) -> Node | None:
    """The node recorded in `state_dir`, whether or not its daemons still run."""
    try:
        state: dict[str, Any] = json.loads((state_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return Node(
        layout=cfg.Layout(Path(state["state"]), Path(state["store"])),
        net=cfg.Network(state["node_ip"], state["node_name"], state["mtu"]),
        registry=state.get("registry", False),
        components={name: Component(**c) for name, c in state["components"].items()},
        started_at=state["started_at"],
        forward_policy=state.get("forward_policy", ""),
        sysctls=state.get("sysctls", {}),
    )


def running_node() -> Node | None:
    """The node of this machine, if one runs (from any state dir)."""
    state = _marker_state()
    node = load(state) if state is not None else None
    return node if node is not None and any(node.alive(n) for n in node.components) else None


def stop(state_dir: Path, log: Log = print) -> bool:
    node = load(state_dir)
    return node.stop(log) if node is not None else False


# -- start ----------------------------------------------------------------------------------------------------


def _write_configs(node: Node) -> None:
    layout, net = node.layout, node.net
    for directory in (
        layout.config,
        layout.logs,
        layout.run / "containerd",
        layout.run / "docker",
        layout.cni_conf_dir,
        layout.cni_ipam,
        layout.pod_logs,
        layout.kubelet_root,
        layout.volumes,
        layout.store,
        layout.docker_config / "cli-plugins",
        layout.certs_d,
    ):
        directory.mkdir(parents=True, exist_ok=True)
    layout.etcd_data.mkdir(parents=True, exist_ok=True)
    layout.etcd_data.chmod(0o700)
    files = {
        layout.config / "containerd.toml": cfg.containerd_config(layout),
        layout.config / "docker.json": cfg.docker_daemon_json(),
        layout.config / "kubelet.yaml": cfg.kubelet_config(layout, net),
        layout.config / "kube-proxy.yaml": cfg.kube_proxy_config(layout, net),
        layout.config / "registry.yaml": cfg.registry_config(layout),
    }
    if node.registry:
        mirror = layout.certs_d / f"localhost:{cfg.PORTS['registry']}"
        mirror.mkdir(parents=True, exist_ok=True)
        files[mirror / "hosts.toml"] = cfg.registry_hosts_toml()
    for path, text in files.items():
        # Only when it changed, and by rename: kube-proxy exits as soon as it sees its config file change
        # ("content of the proxy server's configuration file was updated"), even mid-write to the same text.
        if not path.exists() or path.read_text() != text:
            partial = path.with_name(f".{path.name}.partial")
            partial.write_text(text)
            partial.replace(path)
    plugin = layout.docker_config / "cli-plugins" / "docker-buildx"
    if not plugin.is_symlink():
        plugin.unlink(missing_ok=True)
        plugin.symlink_to(BUILDX.binary("docker-buildx"))


CONTENT_LABEL = "orderflow.local/content"


def load_scratch_image(node: Node, ref: str, files: dict[str, Path], entrypoint: str) -> None:
    """A FROM-scratch image of a few host files, imported into dockerd and loaded into containerd.

    The image carries a digest of its files in a label: a rebuilt binary (same tag) is imported again."""
    import hashlib
    import shutil
    import tempfile

    engine = node.engine
    digest = hashlib.sha256()
    for target, source in sorted(files.items()):
        digest.update(target.encode() + b"\0" + source.read_bytes())
    content = digest.hexdigest()[:32]
    labels = engine.docker("image", "inspect", "--format", "{{json .Config.Labels}}", ref, check=False)
    if labels.returncode != 0 or (json.loads(labels.stdout or b"null") or {}).get(CONTENT_LABEL) != content:
        with tempfile.TemporaryDirectory() as tmp:
            for target, source in files.items():
                dest = Path(tmp) / target
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)
            changes = [f'ENTRYPOINT ["{entrypoint}"]', f"LABEL {CONTENT_LABEL}={content}"]
            engine.import_rootfs(Path(tmp), ref, changes)
    engine.load([ref])


def apply(node: Node, manifests: list[dict[str, Any]]) -> None:
    document = json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests})
    node.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=orderflow", "-f", "-", input=document)


def recycle_volumes(node: Node) -> int:
    """Wipe the pool volumes whose claims were deleted and offer them again; how many."""
    listing = json.loads(node.kubectl("get", "pv", "-l", f"{addons.POOL_LABEL}=true", "-o", "json"))
    count = 0
    for pv in addons.released(listing.get("items", [])):
        addons.wipe(Path(pv["spec"]["local"]["path"]))
        patch = json.dumps({"spec": {"claimRef": None}})
        node.kubectl("patch", "pv", pv["metadata"]["name"], "--type=merge", "-p", patch)
        count += 1
    return count


def start(
    state_dir: Path,
    *,
    store: Path | None = None,
    registry: bool = False,
    log: Log = print,
) -> Node:
    """Build (once) and start whatever of the node does not run yet; wait until the node is Ready and CoreDNS
    answers. Whatever this call started is stopped again when it fails."""
    host.require_root("orderflow k8s up --node")
    host.require_programs()
    state_dir = state_dir.resolve()
    other = _marker_state()
    if other is not None and other != state_dir and running_node() is not None:
        raise ClusterError(
            f"a node from {other} already runs on this machine; stop it with `orderflow k8s down --state-dir {other}`"
        )
    ensure_tools((*NODE_TOOLS, REGISTRY) if registry else NODE_TOOLS, log)
    pause = ensure_pause(log)
    started = time.monotonic()
    ip, device = host.default_route()
    net = cfg.Network(ip, host.node_name(), host.mtu(device))
    existing = load(state_dir)
    layout = cfg.Layout(state_dir, (store or (existing.layout.store if existing else default_store())).resolve())
    node = existing if existing is not None and existing.net == net else Node(layout, net)
    if existing is not None and existing.net != net:
        existing.stop(log)  # the machine's address changed: start afresh
    node.registry = node.registry or registry
    node.started_at = node.started_at or datetime.now(UTC).isoformat(timespec="seconds")
    state_dir.mkdir(parents=True, exist_ok=True)
    was_running = any(node.alive(name) for name in node.components)
    try:
        _bring_up(node, pause, log, started)
    except BaseException:
        if not was_running:  # also on Ctrl-C: nothing of a half-started node stays behind
            node.stop(log)
        raise
    return node


def _bring_up(node: Node, pause: Path, log: Log, started: float) -> None:
    layout, net = node.layout, node.net
    _write_configs(node)
    ensure_node_pki(layout, net)
    node.access.write_kubeconfig(node.kubeconfig)
    MARKER.write_text(json.dumps({"state": str(layout.state)}))
    if not node.sysctls:
        node.sysctls = host.read_sysctls()
    if not node.forward_policy:
        node.forward_policy = host.forward_policy()
    node.save()
    for spec in specs(layout, net, node.registry):
        if node.alive(spec.name):
            continue
        if spec.name == "kubelet":
            (layout.cni_conf_dir / "10-orderflow.conflist").write_text(cfg.cni_conflist(layout, net))
            host.route_pod_traffic(cfg.SERVICE_CIDR)
            load_scratch_image(node, cfg.PAUSE_IMAGE, {"pause": pause}, "/pause")
        node._start(spec, log)
        took = node.wait(spec.name, lambda s=spec.name: node.healthy(s), spec.timeout)  # type: ignore[misc]
        log(f"{spec.name} ready in {took:.1f}s")
    node.wait("kubelet", node.node_ready, 120, "Ready")
    log(f"node {net.node_name} ({net.node_ip}) Ready, {time.monotonic() - started:.1f}s after start")
    host.route_pod_traffic(cfg.SERVICE_CIDR)  # a restarted dockerd rebuilt its chains
    ca = Path("/etc/ssl/certs/ca-certificates.crt")
    files = {"coredns": COREDNS.binary("coredns"), **({"etc/ssl/certs/ca-certificates.crt": ca} if ca.exists() else {})}
    load_scratch_image(node, addons.COREDNS_IMAGE, files, "/coredns")
    for i in range(addons.VOLUMES):
        (layout.volumes / f"pv-{i}").mkdir(parents=True, exist_ok=True)
    apply(node, [*addons.coredns_manifests(), *addons.storage_manifests(layout.volumes, net.node_name)])
    recycle_volumes(node)
    node.kubectl("-n", "kube-system", "rollout", "status", "deploy/coredns", "--timeout=120s")
    log(f"CoreDNS ready, {time.monotonic() - started:.1f}s after start (Kubernetes {KUBERNETES_VERSION})")
    broker = node.broker()
    if broker.state() is not None and broker.running() is None:  # `install` started one: the pods need it back
        state = broker.start()
        log(f"Kafka back on {state.bootstrap_servers}, {time.monotonic() - started:.1f}s after start")
