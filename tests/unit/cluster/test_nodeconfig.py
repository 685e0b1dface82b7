"""The node's files and command lines: each setting this machine needs, and the order the daemons start in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from devstack.cluster import nodeconfig as cfg
from devstack.cluster.node import child_env, specs, stop_order

LAYOUT = cfg.Layout(Path("/state"), Path("/store"))
NET = cfg.Network("192.0.2.2", "vm", 1400)


def test_containerd_is_set_up_for_a_root_without_cap_sys_resource() -> None:
    text = cfg.containerd_config(LAYOUT)
    assert "restrict_oom_score_adj = true" in text
    assert f'sandbox_image = "{cfg.PAUSE_IMAGE}"' in text
    assert 'bin_dir = "/usr/lib/cni"' in text
    assert 'conf_dir = "/state/cni/net.d"' in text
    assert 'BinaryName = "/usr/bin/runc"' in text
    assert 'root = "/store/containerd"' in text, "images outlive the node's state dir"
    assert 'address = "/state/run/containerd/containerd.sock"' in text


def test_kubelet_runs_on_cgroup_v1_with_cgroupfs_and_keeps_imported_images() -> None:
    config = yaml.safe_load(cfg.kubelet_config(LAYOUT, NET))
    assert config["failCgroupV1"] is False
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["failSwapOn"] is False
    assert config["imageGCHighThresholdPercent"] == 100
    assert config["imagePullCredentialsVerificationPolicy"] == "NeverVerify"
    assert config["clusterDNS"] == [cfg.DNS_SERVICE_IP]
    assert config["authentication"]["webhook"]["enabled"] is True
    assert config["authorization"]["mode"] == "Webhook"
    assert config["address"] == NET.node_ip
    assert config["containerRuntimeEndpoint"] == "unix:///state/run/containerd/containerd.sock"


def test_kube_proxy_uses_iptables_and_leaves_conntrack_alone() -> None:
    config = yaml.safe_load(cfg.kube_proxy_config(LAYOUT, NET))
    assert config["mode"] == "iptables"
    assert config["clusterCIDR"] == cfg.POD_CIDR
    assert config["conntrack"]["maxPerCore"] == 0
    assert config["nodePortAddresses"] == ["primary"]


def test_pod_network_is_a_masquerading_bridge_with_the_uplink_mtu() -> None:
    conflist = json.loads(cfg.cni_conflist(LAYOUT, NET))
    bridge, portmap = conflist["plugins"]
    assert bridge["type"] == "bridge"
    assert bridge["bridge"] == "cni0"
    assert bridge["isGateway"] is True
    assert bridge["ipMasq"] is True
    assert bridge["hairpinMode"] is True
    assert bridge["mtu"] == 1400
    assert bridge["ipam"]["ranges"] == [[{"subnet": cfg.POD_CIDR}]]
    assert portmap["type"] == "portmap"


def test_apiserver_authorizes_nodes_and_serves_the_aggregation_layer() -> None:
    argv = cfg.apiserver_argv(Path("/bin/kube-apiserver"), LAYOUT, NET)
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in argv[1:])
    assert flags["authorization-mode"] == "Node,RBAC"
    assert flags["enable-admission-plugins"] == "NodeRestriction"
    assert flags["advertise-address"] == NET.node_ip
    assert flags["kubelet-preferred-address-types"].startswith("InternalIP")
    assert flags["requestheader-allowed-names"] == "front-proxy-client"
    assert flags["enable-aggregator-routing"] == "true"
    assert flags["proxy-client-cert-file"] == "/state/pki/front-proxy-client.crt"
    assert flags["service-cluster-ip-range"] == cfg.SERVICE_CIDR


def test_etcd_listens_on_loopback_only() -> None:
    argv = cfg.etcd_argv(Path("/bin/etcd"), LAYOUT)
    urls = [a.split("=", 1)[1] for a in argv if "urls" in a]
    assert urls
    assert all(url.startswith("http://127.0.0.1:") for url in urls)


def test_daemons_start_runtime_first_and_stop_in_reverse() -> None:
    names = [spec.name for spec in specs(LAYOUT, NET, registry=True)]
    assert names == [
        "containerd",
        "dockerd",
        "registry",
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-proxy",
    ]
    assert "registry" not in [spec.name for spec in specs(LAYOUT, NET, registry=False)]
    assert stop_order(names)[0] == "kube-proxy"
    assert stop_order(names)[-1] == "containerd"


def test_every_fixed_port_is_checked_before_its_daemon_starts() -> None:
    ports = {port for spec in specs(LAYOUT, NET, registry=True) for _, port in spec.ports.values()}
    assert ports == set(cfg.PORTS.values())


def test_daemons_never_see_variables_they_would_read_as_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETCD_VERSION", "v3")
    monkeypatch.setenv("REGISTRY_HTTP_ADDR", "0.0.0.0:1")
    monkeypatch.setenv("KUBECONFIG", "/elsewhere")
    env = child_env()
    assert not {"ETCD_VERSION", "REGISTRY_HTTP_ADDR", "KUBECONFIG"} & set(env)
    assert "PATH" in env


def test_registry_mirror_points_containerd_at_the_local_registry() -> None:
    assert cfg.registry_hosts_toml().startswith('server = "http://127.0.0.1:5000"')
    config = yaml.safe_load(cfg.registry_config(LAYOUT))
    assert config["http"]["addr"] == "127.0.0.1:5000"
    assert config["storage"]["filesystem"]["rootdirectory"] == "/store/registry"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("1.1.1.1 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \n    cache \n", ("192.0.2.2", "eth0")),
        ("1.1.1.1 dev wlan0 src 10.0.0.7 uid 1000\n", ("10.0.0.7", "wlan0")),
    ],
)
def test_node_ip_is_the_default_route_source(output: str, expected: tuple[str, str]) -> None:
    assert cfg.parse_route(output) == expected


def test_no_default_route_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no `src`"):
        cfg.parse_route("RTNETLINK answers: Network is unreachable")
