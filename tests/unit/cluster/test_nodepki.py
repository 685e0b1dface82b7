"""The node's certificates as data: who is who, and which names the serving certificates carry."""

from __future__ import annotations

from devstack.cluster.nodeconfig import API_SERVICE_IP, Network
from devstack.cluster.nodepki import KUBECONFIGS, extensions, leaves

NET = Network("192.0.2.2", "vm")


def test_apiserver_answers_to_the_node_ip_the_service_ip_and_the_service_names() -> None:
    apiserver = next(leaf for leaf in leaves(NET) if leaf.name == "apiserver")
    assert {"IP:192.0.2.2", f"IP:{API_SERVICE_IP}", "DNS:kubernetes.default.svc.cluster.local"} <= set(apiserver.sans)
    assert "subjectAltName=IP:192.0.2.2," in extensions(apiserver)
    assert "extendedKeyUsage=serverAuth" in extensions(apiserver)


def test_the_kubelet_is_a_node_for_the_node_authorizer() -> None:
    by_name = {leaf.name: leaf for leaf in leaves(NET)}
    assert by_name["kubelet-client"].subject == "/O=system:nodes/CN=system:node:vm"
    assert by_name["kubelet-serving"].usage == "serverAuth"
    assert by_name["apiserver-kubelet-client"].subject.startswith("/O=system:masters/")
    assert by_name["front-proxy-client"].ca == "front-proxy-ca"
    assert KUBECONFIGS["kubelet"] == "kubelet-client"
    assert "subjectAltName" not in extensions(by_name["admin"])
