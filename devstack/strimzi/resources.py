"""The Kubernetes objects the stand-in keeps for one Kafka cluster, as pure builders (dicts to apply).

What Strimzi's Cluster Operator creates (see naming.py for the sources), with one difference said plainly: each
KafkaNodePool's brokers run in a StatefulSet named like Strimzi's StrimziPodSet (`<cluster>-<pool>`), which gives
the pods and their claims Strimzi's names and recreates a deleted pod, as the PodSet controller does. Broker pods
meet the `restricted` Pod Security profile, as Strimzi's do.

Documented in Strimzi's "Deploying and Managing" guide, "List of Kafka cluster resources" (a StrimziPodSet
`<cluster>-<pool>` per node pool, a pod and a ConfigMap `<cluster>-<pool>-<id>` per node, the
`<cluster>-kafka-bootstrap` and headless `<cluster>-kafka-brokers` Services, the `<cluster>-kafka`
PodDisruptionBudget and the `<cluster>-network-policy-kafka` NetworkPolicy), "Restricting access to listeners with
network policies" (a listener's `networkPolicyPeers` say who may connect; without them, anyone may) and "Cluster
Operator configuration" (without `STRIMZI_OPERATOR_NAMESPACE_LABELS`, the operator may connect from any namespace);
and in the Custom Resource API Reference, "PodDisruptionBudgetTemplate schema reference" (one Kafka pod unavailable
at a time by default; Strimzi writes it as `minAvailable` for its PodSets, the stand-in as `maxUnavailable: 1`) and
"jvmOptions" (without `-Xms`/`-Xmx`, the Cluster Operator sizes the heap from the memory limit, half of it for
Kafka).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from devstack.strimzi import brokerconfig, naming

Manifest = dict[str, Any]
KAFKA_UID = 1000  # the project's Kafka image runs as uid 1000 (k8s/kafka/Dockerfile)


def owner(kafka: Mapping[str, Any]) -> list[dict[str, Any]]:
    meta = kafka["metadata"]
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": kafka.get("kind", "Kafka"),
            "name": meta["name"],
            "uid": meta["uid"],
            "controller": False,
            "blockOwnerDeletion": True,
        }
    ]


def _meta(name: str, namespace: str, labels: Mapping[str, str], kafka: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(labels), "ownerReferences": owner(kafka)}


def secret(
    name: str,
    namespace: str,
    data: Mapping[str, bytes],
    labels: Mapping[str, str],
    kafka: Mapping[str, Any],
    annotations: Mapping[str, str] | None = None,
) -> Manifest:
    meta = _meta(name, namespace, labels, kafka)
    if annotations:
        meta["annotations"] = dict(annotations)
    encoded = {key: base64.b64encode(value).decode() for key, value in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": encoded}


def listener_ports(listeners: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": naming.port_name(lst),
            "port": int(lst["port"]),
            "targetPort": naming.port_name(lst),
            "protocol": "TCP",
        }
        for lst in listeners
    ]


def services(
    cluster: str, namespace: str, listeners: list[Mapping[str, Any]], kafka: Mapping[str, Any]
) -> list[Manifest]:
    replication = {"name": "tcp-replication", "port": 9091, "targetPort": "tcp-replication", "protocol": "TCP"}
    control = {"name": "tcp-ctrlplane", "port": 9090, "targetPort": "tcp-ctrlplane", "protocol": "TCP"}
    internal = [lst for lst in listeners if lst.get("type") == "internal"]
    discovery = [
        {
            "port": int(lst["port"]),
            "tls": bool(lst.get("tls")),
            "protocol": "kafka",
            "auth": (lst.get("authentication") or {}).get("type", "none"),
        }
        for lst in internal
    ]
    import json

    bootstrap_meta = _meta(naming.bootstrap_service(cluster), namespace, naming.kafka_labels(cluster), kafka)
    bootstrap_meta["labels"]["strimzi.io/discovery"] = "true"
    bootstrap_meta["annotations"] = {"strimzi.io/discovery": json.dumps(discovery, indent=2)}
    bootstrap = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": bootstrap_meta,
        "spec": {
            "type": "ClusterIP",
            "selector": {**naming.selector_labels(cluster), "strimzi.io/broker-role": "true"},
            "ports": [replication, *listener_ports(internal)],
        },
    }
    brokers = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(naming.brokers_service(cluster), namespace, naming.kafka_labels(cluster), kafka),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": naming.selector_labels(cluster),
            "ports": [control, replication, *listener_ports(internal)],
        },
    }
    return [bootstrap, brokers]


def network_policy(
    cluster: str, namespace: str, listeners: list[Mapping[str, Any]], kafka: Mapping[str, Any]
) -> Manifest:
    """Strimzi's `<cluster>-network-policy-kafka`: the control plane from the brokers and the Cluster Operator,
    replication also from the entity operators, each listener from its `networkPolicyPeers` (none: anyone)."""
    brokers = {"podSelector": {"matchLabels": naming.selector_labels(cluster)}}
    # The Cluster Operator runs in another namespace here, so any namespace (STRIMZI_OPERATOR_NAMESPACE_LABELS unset).
    operator = {"podSelector": {"matchLabels": {"strimzi.io/kind": "cluster-operator"}}, "namespaceSelector": {}}
    entity = {"podSelector": {"matchLabels": {"strimzi.io/name": f"{cluster}-entity-operator"}}}
    ingress: list[dict[str, Any]] = [
        {"ports": [{"port": 9090, "protocol": "TCP"}], "from": [brokers, operator]},
        {"ports": [{"port": 9091, "protocol": "TCP"}], "from": [operator, brokers, entity]},
    ]
    for lst in listeners:
        rule: dict[str, Any] = {"ports": [{"port": int(lst["port"]), "protocol": "TCP"}]}
        if lst.get("networkPolicyPeers"):
            rule["from"] = lst["networkPolicyPeers"]
        ingress.append(rule)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(naming.network_policy(cluster), namespace, naming.kafka_labels(cluster), kafka),
        "spec": {
            "podSelector": {"matchLabels": naming.selector_labels(cluster)},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    }


def node_config_map(
    cluster: str,
    namespace: str,
    node: brokerconfig.Node,
    config: str,
    cluster_id: str,
    pool_labels: Mapping[str, str],
    kafka: Mapping[str, Any],
) -> Manifest:
    """Strimzi's per-node ConfigMap (named like the pod): `server.config` and `cluster.id`."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(node.pod, namespace, pool_labels, kafka),
        "data": {"server.config": config, "cluster.id": cluster_id},
    }


# Joins the pod's key and chain into the PEM keystore, formats its storage once, starts the broker.
START = f"""set -eu
mkdir -p /tmp/kafka
cat "/opt/kafka/broker-certs/$HOSTNAME.key" "/opt/kafka/broker-certs/$HOSTNAME.crt" > {brokerconfig.KEYSTORE}
config="/opt/kafka/node-config/$HOSTNAME/server.config"
logdir=$(sed -n 's/^log\\.dirs=//p' "$config")
if [ ! -e "$logdir/meta.properties" ]; then
  kafka-run-class.sh kafka.tools.StorageTool format --config "$config" \\
    --cluster-id "$(cat /opt/kafka/node-config/$HOSTNAME/cluster.id)" --ignore-formatted \\
    ${{METADATA_VERSION:+--release-version "$METADATA_VERSION"}}
fi
exec kafka-run-class.sh kafka.Kafka "$config"
"""


def _heap(resources: Mapping[str, Any]) -> str:
    """Half the memory limit, as Strimzi sizes the heap from the container's limit (default 512 MiB)."""
    limit = str((resources.get("limits") or {}).get("memory", "1Gi"))
    units = {"Gi": 1024, "Mi": 1, "G": 1000, "M": 1}
    mebibytes = next((float(limit[: -len(u)]) * f for u, f in units.items() if limit.endswith(u)), None)
    if mebibytes is None:  # a plain number is bytes
        mebibytes = float(limit) / 2**20 if limit.isdigit() else 1024.0
    heap = max(128, int(mebibytes / 2))
    return f"-Xms{heap}m -Xmx{heap}m"


def stateful_set(
    cluster: str,
    namespace: str,
    pool: Mapping[str, Any],
    nodes: list[brokerconfig.Node],
    listeners: list[Mapping[str, Any]],
    image: str,
    config_digest: str,
    kafka: Mapping[str, Any],
) -> Manifest:
    name = pool["metadata"]["name"]
    spec = pool["spec"]
    roles = list(spec.get("roles", []))
    labels = naming.pool_labels(cluster, name, roles)
    volume = next(iter((spec.get("storage") or {}).get("volumes", [])), spec.get("storage") or {})
    ports = [{"name": "tcp-ctrlplane", "containerPort": 9090}, {"name": "tcp-replication", "containerPort": 9091}]
    ports += [{"name": naming.port_name(lst), "containerPort": int(lst["port"])} for lst in listeners]
    probe_port = int(listeners[0]["port"]) if listeners and "broker" in roles else 9090
    node_configs = [
        {
            "configMap": {
                "name": node.pod,
                "items": [{"key": k, "path": f"{node.pod}/{k}"} for k in ("server.config", "cluster.id")],
            }
        }
        for node in nodes
    ]
    broker_certs = [
        {
            "secret": {
                "name": node.pod,
                "items": [{"key": f"{node.pod}.{k}", "path": f"{node.pod}.{k}"} for k in ("crt", "key")],
            }
        }
        for node in nodes
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "node-config", "projected": {"sources": node_configs}},
        {"name": "broker-certs", "projected": {"sources": broker_certs}},
        {
            "name": "cluster-ca-certs",
            "secret": {"secretName": naming.cluster_ca_cert(cluster), "items": [{"key": "ca.crt", "path": "ca.crt"}]},
        },
        {
            "name": "clients-ca-certs",
            "secret": {"secretName": naming.clients_ca_cert(cluster), "items": [{"key": "ca.crt", "path": "ca.crt"}]},
        },
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
    ]
    claims: list[dict[str, Any]] = []
    if volume.get("type") == "persistent-claim":
        claim_spec: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": volume.get("size", "1Gi")}},
        }
        if volume.get("class"):
            claim_spec["storageClassName"] = volume["class"]
        claims.append(
            {
                "metadata": {
                    "name": f"data-{volume.get('id', 0)}",
                    "labels": labels,
                    "annotations": {"strimzi.io/delete-claim": str(bool(volume.get("deleteClaim"))).lower()},
                },
                "spec": claim_spec,
            }
        )
    else:
        volumes.append({"name": "data-0", "emptyDir": {}})
    container = {
        "name": "kafka",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", START],
        "env": [{"name": "KAFKA_HEAP_OPTS", "value": _heap(spec.get("resources") or {})}],
        "ports": ports,
        "readinessProbe": {"tcpSocket": {"port": probe_port}, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {
            "tcpSocket": {"port": probe_port},
            "initialDelaySeconds": 60,
            "periodSeconds": 10,
            "failureThreshold": 6,
        },
        "resources": spec.get("resources") or {},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "data-0", "mountPath": f"{brokerconfig.DATA_ROOT}/data-0"},
            {"name": "node-config", "mountPath": "/opt/kafka/node-config", "readOnly": True},
            {"name": "broker-certs", "mountPath": "/opt/kafka/broker-certs", "readOnly": True},
            {"name": "cluster-ca-certs", "mountPath": "/opt/kafka/cluster-ca-certs", "readOnly": True},
            {"name": "clients-ca-certs", "mountPath": "/opt/kafka/clients-ca-certs", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(f"{cluster}-{name}", namespace, labels, kafka),
        "spec": {
            "serviceName": naming.brokers_service(cluster),
            "replicas": len(nodes),
            # Pods are `<cluster>-<pool>-<ordinal>`: ordinals start at the pool's first node id so that pod names
            # are Strimzi's `<cluster>-<pool>-<nodeId>` in every pool, not only in the one holding id 0.
            "ordinals": {"start": min((n.node_id for n in nodes), default=0)},
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {**naming.selector_labels(cluster), "strimzi.io/pool-name": name}},
            "template": {
                "metadata": {"labels": labels, "annotations": {"strimzi.io/revision": config_digest}},
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": KAFKA_UID,
                        "runAsGroup": KAFKA_UID,
                        "fsGroup": KAFKA_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
            "volumeClaimTemplates": claims,
        },
    }


def disruption_budget(cluster: str, namespace: str, kafka: Mapping[str, Any]) -> Manifest:
    """Strimzi's `<cluster>-kafka` PodDisruptionBudget: one broker at a time."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(f"{cluster}-kafka", namespace, naming.kafka_labels(cluster), kafka),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": naming.selector_labels(cluster)}},
    }
