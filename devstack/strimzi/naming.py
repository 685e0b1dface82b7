"""The names, labels and addresses Strimzi 1.2 gives what it creates for a Kafka cluster, as pure functions.

Each follows Strimzi's own code (github.com/strimzi/strimzi-kafka-operator, `api/.../KafkaResources.java`,
`cluster-operator/.../model/KafkaCluster.java`, `KafkaPool.java`, `ListenersUtils.java`, `Labels.java`):
- broker pods `<cluster>-<pool>-<nodeId>`, node ids from 0; their PVCs `data-<volumeId>-<pod>` (JBOD);
- Services `<cluster>-kafka-bootstrap` (the brokers' listeners and replication) and `<cluster>-kafka-brokers`
  (headless, every port, not-ready addresses published), selecting the Kafka "selector labels";
- Secrets `<cluster>-cluster-ca-cert` (ca.crt, ca.p12, ca.password), `<cluster>-cluster-ca` (ca.key), one Secret
  per broker named like its pod (`<pod>.crt`, `<pod>.key`), and `<user>` per KafkaUser;
- a listener `<name>` on `<port>` is `<NAME>-<PORT>` in the broker's configuration, `tcp-<name>` as a port name
  (but for Strimzi's three older names, see port_name);
- broker certificates: subject CN=<cluster>-kafka,O=io.strimzi; SANs every form of both Services and each
  pod's own DNS name (`ModelUtils.generateAllServiceDnsNames`, `KafkaCluster.buildKafkaNodeCertsSubject`).

Documented in Strimzi's "Deploying and Managing" guide, "List of Kafka cluster resources" (the cluster and clients CA
Secrets, `<cluster>-cluster-operator-certs`, the `<cluster>-kafka-bootstrap` and `<cluster>-kafka-brokers` Services,
`<cluster>-<pool>-<id>` for a node's pod, ConfigMap and key Secret, `data-<id>-<pod>` for its JBOD claims,
`<cluster>-network-policy-kafka`), "Configuring listeners to connect to Kafka" (an `internal` listener goes through
the headless Service and the pods' DNS names, by default without the cluster domain), "Alternative subjects in server
certificates for Kafka listeners" (broker certificates name every broker under `<cluster>-kafka-brokers` and the
bootstrap Service) and "Cluster Operator configuration" (`KUBERNETES_SERVICE_DNS_DOMAIN`: the names with the cluster
domain go into the broker certificates too); and in the Custom Resource API Reference, "GenericKafkaListener schema
reference" (a listener's unique `name` and `port`, its `type`, `tls` and `authentication`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CLUSTER_DOMAIN = "cluster.local"
CONTROL_PLANE_PORT = 9090
REPLICATION_PORT = 9091
ORGANIZATION = "io.strimzi"


def broker_pod(cluster: str, pool: str, node_id: int) -> str:
    return f"{cluster}-{pool}-{node_id}"


def data_claim(volume_id: int, pod: str) -> str:
    return f"data-{volume_id}-{pod}"


def bootstrap_service(cluster: str) -> str:
    return f"{cluster}-kafka-bootstrap"


def brokers_service(cluster: str) -> str:
    return f"{cluster}-kafka-brokers"


def cluster_ca_cert(cluster: str) -> str:
    return f"{cluster}-cluster-ca-cert"


def cluster_ca_key(cluster: str) -> str:
    return f"{cluster}-cluster-ca"


def clients_ca_cert(cluster: str) -> str:
    return f"{cluster}-clients-ca-cert"


def clients_ca_key(cluster: str) -> str:
    return f"{cluster}-clients-ca"


def network_policy(cluster: str) -> str:
    return f"{cluster}-network-policy-kafka"


def listener_name(name: str, port: int) -> str:
    """The name a user listener has in the broker's configuration: `scram` on 9093 is SCRAM-9093."""
    return f"{name}-{port}".upper()


def port_name(listener: Mapping[str, Any]) -> str:
    """`tcp-<name>`, except Strimzi's older names (ListenersUtils.backwardsCompatiblePortName): `tcp-clients` for an
    internal `plain` on 9092, `tcp-clientstls` for an internal `tls` on 9093, `tcp-external` for `external` on 9094."""
    name, port, internal = listener["name"], int(listener["port"]), listener.get("type") == "internal"
    legacy = {("plain", 9092, True): "tcp-clients", ("tls", 9093, True): "tcp-clientstls"}
    if name == "external" and port == 9094:
        return "tcp-external"
    return legacy.get((name, port, internal), f"tcp-{name}")


def selector_labels(cluster: str) -> dict[str, str]:
    """Strimzi's selector labels of the Kafka pods (Services and the NetworkPolicy select with these)."""
    return {"strimzi.io/cluster": cluster, "strimzi.io/name": f"{cluster}-kafka", "strimzi.io/kind": "Kafka"}


def kafka_labels(cluster: str) -> dict[str, str]:
    return {
        **selector_labels(cluster),
        "strimzi.io/component-type": "kafka",
        "app.kubernetes.io/name": "kafka",
        "app.kubernetes.io/instance": cluster,
        "app.kubernetes.io/part-of": f"strimzi-{cluster}",
        "app.kubernetes.io/managed-by": "strimzi-cluster-operator",
    }


def pool_labels(cluster: str, pool: str, roles: list[str]) -> dict[str, str]:
    return {
        **kafka_labels(cluster),
        "strimzi.io/pool-name": pool,
        "strimzi.io/broker-role": str("broker" in roles).lower(),
        "strimzi.io/controller-role": str("controller" in roles).lower(),
        "strimzi.io/controller": "strimzipodset",
        "strimzi.io/controller-name": f"{cluster}-{pool}",
    }


def ca_labels(cluster: str) -> dict[str, str]:
    return {
        "strimzi.io/kind": "Kafka",
        "strimzi.io/cluster": cluster,
        "strimzi.io/name": "strimzi",
        "strimzi.io/component-type": "certificate-authority",
        "app.kubernetes.io/name": "certificate-authority",
        "app.kubernetes.io/instance": cluster,
        "app.kubernetes.io/part-of": f"strimzi-{cluster}",
        "app.kubernetes.io/managed-by": "strimzi-cluster-operator",
    }


def service_dns_names(service: str, namespace: str) -> list[str]:
    """`name`, `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local`."""
    return [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.{CLUSTER_DOMAIN}",
    ]


def pod_dns_name(pod: str, cluster: str, namespace: str) -> str:
    """The pod's own name under the headless Service, without the cluster domain (what brokers advertise)."""
    return f"{pod}.{brokers_service(cluster)}.{namespace}.svc"


def broker_sans(cluster: str, namespace: str, pod: str) -> list[str]:
    own = pod_dns_name(pod, cluster, namespace)
    return [
        *service_dns_names(bootstrap_service(cluster), namespace),
        *service_dns_names(brokers_service(cluster), namespace),
        f"{own}.{CLUSTER_DOMAIN}",
        own,
    ]


def broker_principal(cluster: str) -> str:
    return f"CN={cluster}-kafka,O={ORGANIZATION}"


def operator_principal(cluster: str, which: str) -> str:
    """The Entity Operator's identities: `topic` and `user`."""
    return f"CN={cluster}-entity-{which}-operator,O={ORGANIZATION}"


def super_users(cluster: str) -> list[str]:
    """`super.users` as Strimzi writes it (KafkaBrokerConfigurationBuilder): the brokers, both entity operators,
    Kafka Exporter, Cruise Control and the Cluster Operator, by their certificate subjects."""
    subjects = [
        broker_principal(cluster),
        operator_principal(cluster, "topic"),
        operator_principal(cluster, "user"),
        f"CN={cluster}-kafka-exporter,O={ORGANIZATION}",
        f"CN={cluster}-cruise-control,O={ORGANIZATION}",
        f"CN=cluster-operator,O={ORGANIZATION}",
    ]
    return [f"User:{subject}" for subject in subjects]
