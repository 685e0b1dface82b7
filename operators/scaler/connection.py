"""Where a scaler's Kafka is and how to log in: from `bootstrapServers`, or a Strimzi Kafka and KafkaUser.

`KafkaConnection` is hashable and equal for equal endpoints and credentials: the client pool shares one
Kafka client per distinct value.
"""

from __future__ import annotations

import base64
import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class StrimziError(ValueError):
    """The referenced Strimzi objects do not (yet) describe a usable listener or user."""


@dataclass(frozen=True)
class KafkaConnection:
    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_pem: str | None = None
    cert_pem: str | None = None
    key_pem: str | None = field(default=None, repr=False)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's admin client and consumer."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            options["ssl_context"] = self._ssl_context()
        if self.sasl_mechanism is not None:
            options.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password,
            )
        return options

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self.ca_pem) if self.ca_pem else ssl.create_default_context()
        if self.cert_pem and self.key_pem:
            with _pem_files(self.cert_pem, self.key_pem) as (cert, key):
                context.load_cert_chain(cert, key)
        return context


@contextlib.contextmanager
def _pem_files(cert: str, key: str) -> Iterator[tuple[str, str]]:
    # ssl only loads client certificates from files; they live for the duration of the load in a 0700 dir.
    with tempfile.TemporaryDirectory(prefix="scaler-tls-") as directory:
        paths = Path(directory) / "user.crt", Path(directory) / "user.key"
        for path, content in zip(paths, (cert, key), strict=True):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(content)
        yield str(paths[0]), str(paths[1])


def _secret_value(secret: dict[str, Any], key: str) -> str:
    data = secret.get("data") or {}
    if key not in data:
        raise StrimziError(f"Secret {secret['metadata']['name']} has no key {key!r}")
    return base64.b64decode(data[key]).decode()


def from_strimzi(
    kafka: dict[str, Any], listener: str, user: dict[str, Any] | None, user_secret: dict[str, Any] | None
) -> KafkaConnection:
    """The connection to one listener of a Strimzi `Kafka`, authenticated as a `KafkaUser` if given."""
    name = kafka["metadata"]["name"]
    spec_listener = next((x for x in kafka["spec"]["kafka"].get("listeners", []) if x["name"] == listener), None)
    status_listener = next(
        (x for x in (kafka.get("status") or {}).get("listeners", []) if x.get("name") == listener), None
    )
    if spec_listener is None:
        raise StrimziError(f"Kafka {name} has no listener {listener!r}")
    if status_listener is None or not status_listener.get("bootstrapServers"):
        raise StrimziError(f"Kafka {name} reports no address for listener {listener!r} yet")
    tls = bool(spec_listener.get("tls"))
    # The listener's status carries the cluster CA that signs its certificates.
    ca = "".join(status_listener.get("certificates") or []) or None
    bootstrap = status_listener["bootstrapServers"]
    if user is None:
        return KafkaConnection(bootstrap, "SSL" if tls else "PLAINTEXT", ca_pem=ca if tls else None)
    if user_secret is None:
        raise StrimziError(f"KafkaUser {user['metadata']['name']} has no Secret yet")
    auth = (user["spec"].get("authentication") or {}).get("type")
    if auth == "scram-sha-512":
        return KafkaConnection(
            bootstrap,
            "SASL_SSL" if tls else "SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            username=user["metadata"]["name"],
            password=_secret_value(user_secret, "password"),
            ca_pem=ca if tls else None,
        )
    if auth == "tls":
        if not tls:
            raise StrimziError(f"listener {listener!r} of Kafka {name} has no TLS for a TLS KafkaUser")
        cert, key = _secret_value(user_secret, "user.crt"), _secret_value(user_secret, "user.key")
        return KafkaConnection(bootstrap, "SSL", ca_pem=ca, cert_pem=cert, key_pem=key)
    raise StrimziError(f"KafkaUser {user['metadata']['name']} uses unsupported authentication {auth!r}")
