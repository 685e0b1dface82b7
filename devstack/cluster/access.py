"""How clients reach a running control plane: URL, CA and tokens, as httpx clients or a kubeconfig file."""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml

from devstack.cluster.pki import ADMIN_USER, UNPRIVILEGED_USER

CONTEXT = "orderflow-local"
User = Literal["admin", "unprivileged", "anonymous"]


@dataclass(frozen=True)
class Access:
    server: str
    ca_file: Path
    tokens: dict[str, str]  # user name -> bearer token

    def _headers(self, user: User) -> dict[str, str]:
        names = {"admin": ADMIN_USER, "unprivileged": UNPRIVILEGED_USER}
        return {} if user == "anonymous" else {"Authorization": f"Bearer {self.tokens[names[user]]}"}

    def _settings(self, user: User, timeout: float) -> dict[str, Any]:
        return {
            "base_url": self.server,
            "verify": ssl.create_default_context(cafile=str(self.ca_file)),
            "headers": self._headers(user),
            "timeout": timeout,
            # A developer's HTTPS_PROXY must not capture traffic to 127.0.0.1.
            "trust_env": False,
        }

    def client(self, user: User = "admin", timeout: float = 30.0) -> httpx.Client:
        """A client of the API as admin (system:masters), unprivileged (no RBAC grants) or anonymous."""
        return httpx.Client(**self._settings(user, timeout))

    def async_client(self, user: User = "admin", timeout: float = 30.0) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self._settings(user, timeout))

    def write_kubeconfig(self, path: Path) -> Path:
        """A self-contained kubeconfig (CA embedded) of the admin identity, for helm, kopf and kubectl."""
        ca_data = base64.b64encode(self.ca_file.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": CONTEXT, "cluster": {"server": self.server, "certificate-authority-data": ca_data}}],
            "users": [{"name": ADMIN_USER, "user": {"token": self.tokens[ADMIN_USER]}}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": ADMIN_USER}}],
            "current-context": CONTEXT,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)  # it carries a cluster-admin token
        return path
