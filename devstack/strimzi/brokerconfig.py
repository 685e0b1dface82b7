"""A broker's `server.config`, as Strimzi's KafkaBrokerConfigurationBuilder writes it for a KRaft node.

Listeners: CONTROLPLANE-9090 (controllers, mutual TLS), REPLICATION-9091 (brokers and the operators, mutual TLS)
and one per listener of the Kafka CR (`<NAME>-<PORT>`: TLS with SCRAM-SHA-512 is SASL_SSL, TLS alone SSL,
`tls` authentication adds client certificates from the clients CA). `authorization: simple` is Kafka's
StandardAuthorizer with Strimzi's super users; no ACL means no access (Kafka's default, which Strimzi keeps).
Where Strimzi reads keys and certificates from Secrets through its own config provider, the stand-in mounts the
same Secrets and points the PEM keystore and truststore at files.

Documented in Strimzi's "Deploying and Managing" guide, "Configuring listeners to connect to Kafka" (the listeners of
`spec.kafka.listeners`, each with its own encryption and authentication) and "Defining ACL rules" (with `simple`
authorization, access is denied unless a KafkaUser's ACL rules allow it); and in the Custom Resource API Reference,
"GenericKafkaListener schema reference" (`tls`; `authentication` `scram-sha-512` or `tls`), "KafkaAuthorizationSimple
schema reference" (`simple` is Kafka's StandardAuthorizer in KRaft mode; `superUsers` are always allowed) and
"KafkaClusterSpec schema reference" (`config` takes Kafka's broker options, but not those Strimzi manages: listeners,
security, node ids, log directories). The stand-in does not drop those from `spec.kafka.config` as Strimzi does: set
there, they override its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devstack.strimzi import naming

DATA_ROOT = "/var/lib/kafka"
KEYSTORE = "/tmp/kafka/keystore.pem"  # the pod's key then its certificate chain, joined at start (broker pod)
CLUSTER_CA = "/opt/kafka/cluster-ca-certs/ca.crt"
CLIENTS_CA = "/opt/kafka/clients-ca-certs/ca.crt"
SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required ;"


@dataclass(frozen=True)
class Node:
    node_id: int
    pod: str
    roles: tuple[str, ...]


def protocol(listener: Mapping[str, Any]) -> str:
    auth = (listener.get("authentication") or {}).get("type")
    sasl = auth == "scram-sha-512"
    if listener.get("tls"):
        return "SASL_SSL" if sasl else "SSL"
    return "SASL_PLAINTEXT" if sasl else "PLAINTEXT"


def _tls(prefix: str, client_auth: str | None, truststore: str) -> dict[str, str]:
    settings = {
        f"{prefix}.ssl.keystore.location": KEYSTORE,
        f"{prefix}.ssl.keystore.type": "PEM",
        f"{prefix}.ssl.truststore.location": truststore,
        f"{prefix}.ssl.truststore.type": "PEM",
    }
    if client_auth:
        settings[f"{prefix}.ssl.client.auth"] = client_auth
    return settings


def server_config(
    cluster: str,
    namespace: str,
    node: Node,
    voters: list[Node],
    listeners: list[Mapping[str, Any]],
    authorization: Mapping[str, Any] | None,
    user_config: Mapping[str, Any],
) -> dict[str, str]:
    """Every property of one node, in Strimzi's order; the user's `spec.kafka.config` last (it wins)."""
    own = naming.pod_dns_name(node.pod, cluster, namespace)
    config: dict[str, str] = {
        "node.id": str(node.node_id),
        "process.roles": ",".join(sorted(node.roles)),
        "controller.listener.names": "CONTROLPLANE-9090",
        "controller.quorum.voters": ",".join(
            f"{v.node_id}@{naming.pod_dns_name(v.pod, cluster, namespace)}.{naming.CLUSTER_DOMAIN}:9090" for v in voters
        ),
        "log.dirs": f"{DATA_ROOT}/data-0/kafka-log{node.node_id}",
        "metadata.log.dir": f"{DATA_ROOT}/data-0/kafka-log{node.node_id}",
    }
    names = {"CONTROLPLANE-9090": "SSL", "REPLICATION-9091": "SSL"}
    config |= _tls("listener.name.controlplane-9090", "required", CLUSTER_CA)
    config |= _tls("listener.name.replication-9091", "required", CLUSTER_CA)
    for listener in listeners:
        name = naming.listener_name(listener["name"], listener["port"])
        prefix = f"listener.name.{name.lower()}"
        names[name] = protocol(listener)
        auth = (listener.get("authentication") or {}).get("type")
        if auth == "scram-sha-512":
            config[f"{prefix}.scram-sha-512.sasl.jaas.config"] = SCRAM_JAAS
            config[f"{prefix}.sasl.enabled.mechanisms"] = "SCRAM-SHA-512"
        if listener.get("tls"):
            client_auth = "required" if auth == "tls" else None
            config |= _tls(prefix, client_auth, CLIENTS_CA if auth == "tls" else CLUSTER_CA)
    config["listener.security.protocol.map"] = ",".join(f"{n}:{p}" for n, p in names.items())
    roles = set(node.roles)
    ports = {"CONTROLPLANE-9090": 9090, "REPLICATION-9091": 9091} | {
        naming.listener_name(lst["name"], lst["port"]): int(lst["port"]) for lst in listeners
    }
    bound = [n for n in ports if n != "CONTROLPLANE-9090" or "controller" in roles]
    if "broker" not in roles:
        bound = ["CONTROLPLANE-9090"]
    config["listeners"] = ",".join(f"{n}://0.0.0.0:{ports[n]}" for n in bound)
    if "broker" in roles:
        config["inter.broker.listener.name"] = "REPLICATION-9091"
    config["advertised.listeners"] = ",".join(f"{n}://{own}:{ports[n]}" for n in bound)
    config["sasl.enabled.mechanisms"] = ""
    config["ssl.endpoint.identification.algorithm"] = "HTTPS"
    if (authorization or {}).get("type") == "simple":
        config["authorizer.class.name"] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        extra = [f"User:{u}" for u in (authorization or {}).get("superUsers", [])]
        config["super.users"] = ";".join([*naming.super_users(cluster), *extra])
    config |= {key: _text(value) for key, value in user_config.items()}
    return config


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def render(config: Mapping[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in config.items())
