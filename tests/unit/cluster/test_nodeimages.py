"""The images a node carries, named as kubeadm asks for them and checked against the versions built."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.cluster import nodeimages
from devstack.cluster.build import BuildError
from devstack.cluster.tools import COREDNS, ETCD, KUBERNETES

PAUSE = Path("/cache/pause")
# kubeadm's list names a registry this repository never writes down; any prefix works the same.
PREFIX = "registry.example"


def test_each_kubeadm_image_is_the_binary_built_for_it() -> None:
    apiserver = nodeimages.kubeadm_component(f"{PREFIX}/kube-apiserver:{KUBERNETES.version}", PAUSE)
    assert apiserver.files == {"usr/local/bin/kube-apiserver": KUBERNETES.binary("kube-apiserver")}
    assert apiserver.base is None
    assert apiserver.kubeadm
    proxy = nodeimages.kubeadm_component(f"{PREFIX}/kube-proxy:{KUBERNETES.version}", PAUSE)
    assert proxy.base == nodeimages.NETWORK_TOOLS_IMAGE, "kube-proxy calls iptables and conntrack"
    etcd = nodeimages.kubeadm_component(f"{PREFIX}/etcd:{ETCD.version.removeprefix('v')}-0", PAUSE)
    assert etcd.files == {"usr/local/bin/etcd": ETCD.binary("etcd")}
    coredns = nodeimages.kubeadm_component(f"{PREFIX}/coredns/coredns:{COREDNS.version}", PAUSE)
    assert 'ENTRYPOINT ["/coredns"]' in coredns.changes
    pause = nodeimages.kubeadm_component(f"{PREFIX}/pause:3.10.2", PAUSE)
    assert pause.files == {"pause": PAUSE}


@pytest.mark.parametrize(
    "ref",
    [f"{PREFIX}/kube-scheduler:v1.36.0", f"{PREFIX}/etcd:3.6.5-0", f"{PREFIX}/coredns/coredns:v1.12.0"],
)
def test_an_image_kubeadm_asks_at_another_version_names_the_pin_to_change(ref: str) -> None:
    with pytest.raises(BuildError, match=r"pinned at .* \(devstack/cluster/tools\.py\); pin the version kubeadm"):
        nodeimages.kubeadm_component(ref, PAUSE)


def test_an_image_kubeadm_names_that_nothing_makes_is_refused() -> None:
    with pytest.raises(BuildError, match="does not know how to make"):
        nodeimages.kubeadm_component(f"{PREFIX}/kube-dns:1.0", PAUSE)


def test_the_sandbox_image_is_kubeadms_pause() -> None:
    refs = [f"{PREFIX}/kube-apiserver:v1", f"{PREFIX}/pause:3.10.2", f"{PREFIX}/etcd:3.7.0-0"]
    assert nodeimages.pause_ref(refs) == f"{PREFIX}/pause:3.10.2"
    with pytest.raises(BuildError):
        nodeimages.pause_ref(refs[:1])
