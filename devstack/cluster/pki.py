"""Keys, certificates and bearer tokens of a local control plane, made once per state dir with `openssl`.

The `cryptography` package is not among orderflow's dependencies, while the openssl CLI ships with every
Debian/Ubuntu base image, so it is the one way used here.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import subprocess
from pathlib import Path

from devstack.cache import ToolMissing

ADMIN_USER = "orderflow-admin"
# Authenticated, but in no group that RBAC grants anything to: what a workload without a Role would be.
UNPRIVILEGED_USER = "orderflow-unprivileged"
_DAYS = "3650"
# Names a client might use for the apiserver; the cluster IP of the `kubernetes` Service is not needed
# because nothing runs inside the cluster.
_SERVING_SANS = "IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"


@dataclasses.dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    sa_private_key: Path
    sa_public_key: Path
    token_file: Path
    tokens: dict[str, str]  # user name -> bearer token


def _openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ToolMissing(
            "`openssl` was not found; it makes the local apiserver's certificates. "
            "Fix: install it, e.g. `sudo apt-get install -y openssl`"
        )
    proc = subprocess.run([openssl, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {proc.stderr.strip()}")


def _read_tokens(token_file: Path) -> dict[str, str]:
    tokens = {}
    for line in token_file.read_text().splitlines():
        token, user, *_ = line.split(",")
        tokens[user] = token
    return tokens


def _write_tokens(token_file: Path) -> None:
    # kube-apiserver --token-auth-file rows: token,user,uid,"group1,group2".
    rows = [
        f'{secrets.token_urlsafe(32)},{ADMIN_USER},{ADMIN_USER},"system:masters"',
        f"{secrets.token_urlsafe(32)},{UNPRIVILEGED_USER},{UNPRIVILEGED_USER}",
    ]
    token_file.write_text("\n".join(rows) + "\n")
    token_file.chmod(0o600)


def ensure_pki(directory: Path) -> Pki:
    """Reuses what an earlier start made, so kubeconfigs handed out before stay valid across restarts."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    pki = Pki(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        sa_private_key=directory / "sa.key",
        sa_public_key=directory / "sa.pub",
        token_file=directory / "tokens.csv",
        tokens={},
    )
    if not pki.ca_cert.exists():
        key, cert = str(pki.ca_key), str(pki.ca_cert)
        new_ca = [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            _DAYS,
            "-subj",
            "/CN=orderflow-local-ca",
        ]
        _openssl(*new_ca, "-keyout", key, "-out", cert)
    if not pki.serving_cert.exists():
        csr, extensions = directory / "apiserver.csr", directory / "apiserver.ext"
        new_csr = ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver"]
        _openssl(*new_csr, "-keyout", str(pki.serving_key), "-out", str(csr))
        extensions.write_text(f"subjectAltName={_SERVING_SANS}\nextendedKeyUsage=serverAuth\n")
        sign = ["x509", "-req", "-CAcreateserial", "-days", _DAYS, "-extfile", str(extensions)]
        _openssl(
            *sign,
            "-CA",
            str(pki.ca_cert),
            "-CAkey",
            str(pki.ca_key),
            "-in",
            str(csr),
            "-out",
            str(pki.serving_cert),
        )
    if not pki.sa_public_key.exists():
        # Service-account tokens are signed with this key pair; the apiserver verifies with the public half.
        sa_key = str(pki.sa_private_key)
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", sa_key)
        _openssl("pkey", "-in", sa_key, "-pubout", "-out", str(pki.sa_public_key))
    if not pki.token_file.exists():
        _write_tokens(pki.token_file)
    return dataclasses.replace(pki, tokens=_read_tokens(pki.token_file))
