"""The single-node cluster's files and command lines, as pure functions of its layout and network.

Nothing here touches the machine: `node.py` writes these files and runs these argv. Each setting that this
kind of machine needs carries the failure it prevents (see /work/shared/REAL-CLUSTER.md for the trials).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devstack.cluster.build import KUBERNETES_VERSION

POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/12"
API_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
CNI_BIN_DIR = "/usr/lib/cni"
PAUSE_IMAGE = f"orderflow.local/pause:{KUBERNETES_VERSION}"
RUNC = "/usr/bin/runc"

# Fixed, like kubeadm's: one node per machine (cni0, iptables and the pod network are machine-wide anyway).
PORTS: dict[str, int] = {
    "etcd": 2379,
    "etcd-peer": 2380,
    "etcd-metrics": 2381,
    "kube-apiserver": 6443,
    "kube-controller-manager": 10257,
    "kube-scheduler": 10259,
    "kubelet": 10250,
    "kubelet-healthz": 10248,
    "kube-proxy-healthz": 10256,
    "kube-proxy-metrics": 10249,
    "registry": 5000,
}


@dataclass(frozen=True)
class Network:
    node_ip: str
    node_name: str
    mtu: int = 1500

    @property
    def api_server(self) -> str:
        return f"https://{self.node_ip}:{PORTS['kube-apiserver']}"


@dataclass(frozen=True)
class Layout:
    """Where one node keeps its files: `state` is this node's (etcd, PKI, kubelet, logs, sockets), `store` the
    image stores of containerd, dockerd and the registry, shared by every node of this machine (a cache)."""

    state: Path
    store: Path

    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def config(self) -> Path:
        return self.state / "config"

    @property
    def etcd_data(self) -> Path:
        return self.state / "etcd"

    @property
    def kubelet_root(self) -> Path:
        return self.state / "kubelet"

    @property
    def pod_logs(self) -> Path:
        return self.state / "pod-logs"

    @property
    def cni_conf_dir(self) -> Path:
        return self.state / "cni" / "net.d"

    @property
    def cni_ipam(self) -> Path:
        return self.state / "cni" / "ipam"

    @property
    def volumes(self) -> Path:
        return self.state / "volumes"

    @property
    def certs_d(self) -> Path:
        return self.config / "certs.d"

    @property
    def containerd_sock(self) -> Path:
        return self.run / "containerd" / "containerd.sock"

    @property
    def docker_sock(self) -> Path:
        return self.run / "docker.sock"

    @property
    def docker_config(self) -> Path:
        """DOCKER_CONFIG of the CLI: holds the buildx plugin, so ~/.docker is never touched."""
        return self.state / "docker-config"

    @property
    def containerd_root(self) -> Path:
        return self.store / "containerd"

    @property
    def docker_root(self) -> Path:
        return self.store / "docker"

    @property
    def registry_data(self) -> Path:
        return self.store / "registry"

    def kubeconfig(self, who: str) -> Path:
        return self.pki / f"{who}.kubeconfig"


# -- containerd, dockerd, registry ---------------------------------------------------------------------------


def containerd_config(layout: Layout) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{layout.containerd_root}"
state = "{layout.run / "containerd" / "state"}"
[grpc]
  address = "{layout.containerd_sock}"
[ttrpc]
  address = "{layout.containerd_sock}.ttrpc"
[debug]
  address = "{layout.run / "containerd" / "debug.sock"}"
[metrics]
  address = ""
[{cri}]
  # The pause image is built here: the default one sits in a registry that cannot be reached.
  sandbox_image = "{PAUSE_IMAGE}"
  # Root here lacks CAP_SYS_RESOURCE; without this runc fails: "nsexec: failed to update /proc/self/oom_score_adj".
  restrict_oom_score_adj = true
  enable_selinux = false
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.runc.options]
        BinaryName = "{RUNC}"
        SystemdCgroup = false
  [{cri}.cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{layout.cni_conf_dir}"
    max_conf_num = 1
  [{cri}.registry]
    config_path = "{layout.certs_d}"
"""


def containerd_argv(layout: Layout) -> list[str]:
    return ["/usr/bin/containerd", "--config", str(layout.config / "containerd.toml")]


def docker_daemon_json() -> str:
    return json.dumps({"features": {"buildkit": True}, "log-driver": "json-file", "storage-driver": "overlay2"})


def dockerd_argv(layout: Layout) -> list[str]:
    return [
        "/usr/sbin/dockerd",
        "--config-file",
        str(layout.config / "docker.json"),
        "--containerd",
        str(layout.containerd_sock),
        "--data-root",
        str(layout.docker_root),
        "--exec-root",
        str(layout.run / "docker"),
        "--pidfile",
        str(layout.run / "docker" / "dockerd.pid"),
        "-H",
        f"unix://{layout.docker_sock}",
    ]


def registry_config(layout: Layout) -> str:
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(layout.registry_data)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{PORTS['registry']}"},
    }
    return yaml.safe_dump(config, sort_keys=False)


def registry_hosts_toml() -> str:
    """containerd's mirror of localhost:5000: pulls go to the local registry over plain HTTP."""
    url = f"http://127.0.0.1:{PORTS['registry']}"
    return f'server = "{url}"\n[host."{url}"]\n  capabilities = ["pull", "resolve"]\n'


# -- control plane ----------------------------------------------------------------------------------------------


def etcd_argv(exe: Path, layout: Layout) -> list[str]:
    client, peer = f"http://127.0.0.1:{PORTS['etcd']}", f"http://127.0.0.1:{PORTS['etcd-peer']}"
    return [
        str(exe),
        "--name=node",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=node={peer}",
        f"--listen-metrics-urls=http://127.0.0.1:{PORTS['etcd-metrics']}",
        "--log-level=warn",
        # A throwaway dev/test store: losing the last writes on a power cut is fine, fsync latency is not.
        "--unsafe-no-fsync",
    ]


def apiserver_argv(exe: Path, layout: Layout, net: Network) -> list[str]:
    pki = layout.pki
    return [
        str(exe),
        f"--etcd-servers=http://127.0.0.1:{PORTS['etcd']}",
        f"--advertise-address={net.node_ip}",
        "--bind-address=0.0.0.0",
        f"--secure-port={PORTS['kube-apiserver']}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        # The admin token of `Access` (as in the bare control plane), besides the components' certificates.
        f"--token-auth-file={pki / 'tokens.csv'}",
        # Node + NodeRestriction: the kubelet registers itself and may only touch its own node and pods.
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        # kubectl logs/exec/port-forward go apiserver -> kubelet with this client certificate.
        f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
        f"--kubelet-certificate-authority={pki / 'ca.crt'}",
        # The hostname may resolve to 127.0.0.1 (/etc/hosts); the node IP is the kubelet's serving address.
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        # The aggregation layer (metrics.k8s.io, external.metrics.k8s.io for KEDA and the like).
        f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-uid-headers=X-Remote-Uid",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
        f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
        "--enable-aggregator-routing=true",
        "--profiling=false",
    ]


def controller_manager_argv(exe: Path, layout: Layout) -> list[str]:
    pki, kubeconfig = layout.pki, layout.kubeconfig("kube-controller-manager")
    return [
        str(exe),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={PORTS['kube-controller-manager']}",
        "--leader-elect=false",
        "--controllers=*",
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={pki / 'sa.key'}",
        f"--root-ca-file={pki / 'ca.crt'}",
        f"--cluster-signing-cert-file={pki / 'ca.crt'}",
        f"--cluster-signing-key-file={pki / 'ca.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allocate-node-cidrs=false",
        f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
        "--profiling=false",
    ]


def scheduler_argv(exe: Path, layout: Layout) -> list[str]:
    kubeconfig = layout.kubeconfig("kube-scheduler")
    return [
        str(exe),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={PORTS['kube-scheduler']}",
        "--leader-elect=false",
        "--profiling=false",
    ]


# -- node -----------------------------------------------------------------------------------------------------


def cni_conflist(layout: Layout, net: Network) -> str:
    """The bridge network of the pods. `loopback` is not listed: the CRI plugin runs it for every sandbox."""
    bridge = {
        "type": "bridge",
        "bridge": "cni0",
        "isGateway": True,
        "ipMasq": True,
        # A pod reaching itself through its Service's IP.
        "hairpinMode": True,
        "mtu": net.mtu,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": POD_CIDR}]],
            "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": str(layout.cni_ipam),
        },
    }
    portmap = {"type": "portmap", "capabilities": {"portMappings": True}}
    return json.dumps({"cniVersion": "1.0.0", "name": "orderflow", "plugins": [bridge, portmap]}, indent=2)


def kubelet_config(layout: Layout, net: Network) -> str:
    pki = layout.pki
    config: dict[str, Any] = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # This machine has cgroup v1 and no systemd: "kubelet is configured to not run on a host using cgroup v1".
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{layout.containerd_sock}",
        "address": net.node_ip,
        "port": PORTS["kubelet"],
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": PORTS["kubelet-healthz"],
        "tlsCertFile": str(pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        # Without these: no `kubectl logs` or `exec`.
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "clusterDNS": [DNS_SERVICE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": "/etc/resolv.conf",
        "podLogsDir": str(layout.pod_logs),
        # Images come from `ctr import`, never from a registry: garbage collecting them would lose them for good,
        # and a small disk must not evict the pods.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
            "imagefs.inodesFree": "1%",
        },
        "serializeImagePulls": False,
        # KubeletEnsureSecretPulledImages (1.35+): an image ID once pulled under another name would be refused
        # for imagePullPolicy Never (ErrImageNeverPull) although present. Nothing here uses pull secrets.
        "imagePullCredentialsVerificationPolicy": "NeverVerify",
        "maxPods": 110,
    }
    return yaml.safe_dump(config, sort_keys=False)


def kubelet_argv(exe: Path, layout: Layout, net: Network) -> list[str]:
    return [
        str(exe),
        f"--config={layout.config / 'kubelet.yaml'}",
        f"--kubeconfig={layout.kubeconfig('kubelet')}",
        f"--root-dir={layout.kubelet_root}",
        f"--node-ip={net.node_ip}",
        f"--hostname-override={net.node_name}",
        "--v=1",
    ]


def kube_proxy_config(layout: Layout, net: Network) -> str:
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(layout.kubeconfig("kube-proxy"))},
        "hostnameOverride": net.node_name,
        "clusterCIDR": POD_CIDR,
        "healthzBindAddress": f"127.0.0.1:{PORTS['kube-proxy-healthz']}",
        "metricsBindAddress": f"127.0.0.1:{PORTS['kube-proxy-metrics']}",
        # NodePorts on the node IP only, not on every local address.
        "nodePortAddresses": ["primary"],
        # 0: leave the machine's conntrack sysctls alone.
        "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }
    return yaml.safe_dump(config, sort_keys=False)


def kube_proxy_argv(exe: Path, layout: Layout) -> list[str]:
    return [str(exe), f"--config={layout.config / 'kube-proxy.yaml'}"]


def kubeconfig(server: str, ca: Path, cert: Path, key: Path, user: str) -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"certificate-authority": str(ca), "server": server}}],
        "users": [{"name": user, "user": {"client-certificate": str(cert), "client-key": str(key)}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": user}}],
        "current-context": "local",
    }
    return yaml.safe_dump(config, sort_keys=False)


# -- host network facts (parsed, not probed) ---------------------------------------------------------------------


def parse_route(output: str) -> tuple[str, str]:
    """(source address, device) of `ip -4 route get <addr>`: the node IP is the one the default route uses."""
    words = output.split()
    try:
        return words[words.index("src") + 1], words[words.index("dev") + 1]
    except (ValueError, IndexError):
        raise ValueError(f"no `src` and `dev` in `ip route get` output: {output.strip()!r}") from None


# Sysctls the kubelet and kube-proxy change on the machine (vm.overcommit_memory 0->1, kernel.panic 0->10,
# kernel.panic_on_oops 0->1, net.ipv4.conf.all.route_localnet 0->1); `down` writes the saved values back.
SYSCTLS = (
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.ipv4.conf.all.route_localnet",
    "net.bridge.bridge-nf-call-iptables",
    "net.ipv4.ip_forward",
)
