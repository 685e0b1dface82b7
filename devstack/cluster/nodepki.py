"""Certificates of the single-node cluster: two CAs and one leaf per component, made once with `openssl`.

The table (`leaves`) is pure; `ensure_node_pki` makes what is missing, so a restart keeps every identity and
the kubeconfigs handed out stay valid. etcd listens on 127.0.0.1 only, over plain HTTP, and needs none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devstack.cluster.nodeconfig import API_SERVICE_IP, CLUSTER_DOMAIN, Layout, Network, kubeconfig
from devstack.cluster.pki import _openssl, _write_tokens

_DAYS = "3650"


@dataclass(frozen=True)
class Leaf:
    name: str
    ca: str  # "ca" or "front-proxy-ca"
    subject: str
    usage: str  # extendedKeyUsage
    sans: tuple[str, ...] = ()


def leaves(net: Network) -> list[Leaf]:
    node = f"system:node:{net.node_name}"
    api_names = [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
    ]
    return [
        Leaf(
            "apiserver",
            "ca",
            "/CN=kube-apiserver",
            "serverAuth",
            (
                f"IP:{net.node_ip}",
                f"IP:{API_SERVICE_IP}",  # what pods dial (the `kubernetes` Service)
                "IP:127.0.0.1",
                "DNS:localhost",
                f"DNS:{net.node_name}",
                *(f"DNS:{name}" for name in api_names),
            ),
        ),
        Leaf("apiserver-kubelet-client", "ca", "/O=system:masters/CN=kube-apiserver-kubelet-client", "clientAuth"),
        Leaf("front-proxy-client", "front-proxy-ca", "/CN=front-proxy-client", "clientAuth"),
        Leaf("admin", "ca", "/O=system:masters/CN=orderflow-admin", "clientAuth"),
        Leaf("kube-controller-manager", "ca", "/CN=system:kube-controller-manager", "clientAuth"),
        Leaf("kube-scheduler", "ca", "/CN=system:kube-scheduler", "clientAuth"),
        Leaf("kube-proxy", "ca", "/CN=system:kube-proxy", "clientAuth"),
        # The Node authorizer knows a kubelet by this exact name and group.
        Leaf("kubelet-client", "ca", f"/O=system:nodes/CN={node}", "clientAuth"),
        Leaf(
            "kubelet-serving",
            "ca",
            f"/O=system:nodes/CN={node}",
            "serverAuth",
            (f"IP:{net.node_ip}", "IP:127.0.0.1", f"DNS:{net.node_name}", "DNS:localhost"),
        ),
    ]


# Component -> the leaf its kubeconfig presents.
KUBECONFIGS = {
    "admin": "admin",
    "kube-controller-manager": "kube-controller-manager",
    "kube-scheduler": "kube-scheduler",
    "kube-proxy": "kube-proxy",
    "kubelet": "kubelet-client",
}


def extensions(leaf: Leaf) -> str:
    lines = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={leaf.usage}",
    ]
    if leaf.sans:
        lines.append(f"subjectAltName={','.join(leaf.sans)}")
    return "\n".join(lines) + "\n"


def _ca(pki: Path, name: str, common_name: str) -> None:
    if (pki / f"{name}.crt").exists():
        return
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        _DAYS,
        "-subj",
        f"/CN={common_name}",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        "-keyout",
        str(pki / f"{name}.key"),
        "-out",
        str(pki / f"{name}.crt"),
    )


def _leaf(pki: Path, leaf: Leaf) -> None:
    cert, key, csr, ext = (pki / f"{leaf.name}.{suffix}" for suffix in ("crt", "key", "csr", "ext"))
    if cert.exists():
        return
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", leaf.subject, "-keyout", str(key), "-out", str(csr)
    )
    ext.write_text(extensions(leaf))
    ca = pki / leaf.ca
    _openssl(
        "x509",
        "-req",
        "-days",
        _DAYS,
        "-CA",
        f"{ca}.crt",
        "-CAkey",
        f"{ca}.key",
        "-CAcreateserial",
        "-extfile",
        str(ext),
        "-in",
        str(csr),
        "-out",
        str(cert),
    )
    csr.unlink()


def ensure_node_pki(layout: Layout, net: Network) -> None:
    """CAs, leaves, the service-account key pair, the admin token file and the components' kubeconfigs.

    A leaf made for another node IP or name (the machine's address changed) is made again.
    """
    pki = layout.pki
    pki.mkdir(parents=True, exist_ok=True)
    pki.chmod(0o700)
    identity = pki / "node-identity"
    if identity.exists() and identity.read_text() != f"{net.node_ip} {net.node_name}\n":
        for leaf in leaves(net):
            (pki / f"{leaf.name}.crt").unlink(missing_ok=True)
    _ca(pki, "ca", "orderflow-kubernetes-ca")
    _ca(pki, "front-proxy-ca", "orderflow-front-proxy-ca")
    for leaf in leaves(net):
        _leaf(pki, leaf)
    identity.write_text(f"{net.node_ip} {net.node_name}\n")
    if not (pki / "sa.pub").exists():
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(pki / "sa.key"))
        _openssl("pkey", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))
    if not (pki / "tokens.csv").exists():
        _write_tokens(pki / "tokens.csv")
    for who, leaf_name in KUBECONFIGS.items():
        text = kubeconfig(net.api_server, pki / "ca.crt", pki / f"{leaf_name}.crt", pki / f"{leaf_name}.key", who)
        layout.kubeconfig(who).write_text(text)
    for key in pki.glob("*.key"):
        key.chmod(0o600)
