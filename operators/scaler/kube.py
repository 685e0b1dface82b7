"""One httpx client of the Kubernetes API, from the same credentials kopf logs in with."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Generator
from pathlib import Path

import httpx
import kopf

_SA_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


class _ServiceAccountToken(httpx.Auth):
    """Re-reads the projected token on every request: the kubelet rotates it, and a token read once expires."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {_SA_TOKEN.read_text().strip()}"
        yield request


def _ssl_context(info: kopf.ConnectionInfo) -> ssl.SSLContext | bool:
    if info.insecure:
        return False
    context = ssl.create_default_context()
    if info.ca_path:
        context.load_verify_locations(cafile=str(info.ca_path))
    elif info.ca_data:
        raw = info.ca_data.encode() if isinstance(info.ca_data, str) else info.ca_data
        context.load_verify_locations(cadata=base64.b64decode(raw).decode())
    if info.certificate_path and info.private_key_path:
        context.load_cert_chain(str(info.certificate_path), str(info.private_key_path))
    return context


def login(settings: kopf.OperatorSettings) -> kopf.ConnectionInfo:
    """In a pod the service account, elsewhere $KUBECONFIG: the two logins kopf itself falls back to."""
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(settings=settings)
    if info is None:
        raise kopf.PermanentError("no Kubernetes credentials: neither a service account nor a kubeconfig")
    return info


def client(info: kopf.ConnectionInfo, timeout: float = 10.0) -> httpx.AsyncClient:
    in_cluster = _SA_TOKEN.exists() and info.token == _SA_TOKEN.read_text().strip()
    auth = _ServiceAccountToken() if in_cluster else None
    headers = {"Authorization": f"Bearer {info.token}"} if info.token and not in_cluster else {}
    # trust_env off: a developer's HTTPS_PROXY must not capture traffic to the API server.
    return httpx.AsyncClient(
        base_url=info.server, verify=_ssl_context(info), auth=auth, headers=headers, timeout=timeout, trust_env=False
    )
