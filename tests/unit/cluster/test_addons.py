"""CoreDNS and the local volume pool as manifests."""

from __future__ import annotations

from pathlib import Path

from devstack.cluster import addons
from devstack.cluster.nodeconfig import DNS_SERVICE_IP


def test_coredns_runs_the_local_image_behind_the_kubelets_dns_address() -> None:
    by_kind = {m["kind"]: m for m in addons.coredns_manifests()}
    assert by_kind["Service"]["spec"]["clusterIP"] == DNS_SERVICE_IP
    pod = by_kind["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == addons.COREDNS_IMAGE
    assert container["imagePullPolicy"] == "Never"
    assert pod["dnsPolicy"] == "Default", "forwards to the machine's resolver, not to itself"
    assert "kubernetes cluster.local" in by_kind["ConfigMap"]["data"]["Corefile"]


def test_the_volume_pool_is_the_default_class_of_local_volumes_on_this_node() -> None:
    storage_class, *volumes = addons.storage_manifests(Path("/state/volumes"), "vm", count=3)
    assert storage_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert storage_class["provisioner"] == "kubernetes.io/no-provisioner"
    assert [v["spec"]["local"]["path"] for v in volumes] == [f"/state/volumes/pv-{i}" for i in range(3)]
    terms = volumes[0]["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == ["vm"]


def test_only_released_pool_volumes_are_recycled(tmp_path: Path) -> None:
    pool = {addons.POOL_LABEL: "true"}
    volumes: list[addons.Manifest] = [
        {"metadata": {"name": "a", "labels": pool}, "status": {"phase": "Released"}},
        {"metadata": {"name": "b", "labels": pool}, "status": {"phase": "Bound"}},
        {"metadata": {"name": "c"}, "status": {"phase": "Released"}},
    ]
    assert [v["metadata"]["name"] for v in addons.released(volumes)] == ["a"]
    (tmp_path / "pgdata").mkdir()
    (tmp_path / "pgdata" / "PG_VERSION").write_text("15")
    (tmp_path / "file").write_text("x")
    addons.wipe(tmp_path)
    assert list(tmp_path.iterdir()) == []
