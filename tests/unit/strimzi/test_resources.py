"""The Kubernetes objects of one Kafka cluster (/tmp/research/strimzi.md §1.1, §1.3 to §1.5): Services,
NetworkPolicy, Secrets, per-node ConfigMaps, the brokers' StatefulSet (the stand-in's StrimziPodSet) and PDB."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pytest

from devstack.strimzi import brokerconfig, naming, resources
from devstack.strimzi.brokerconfig import Node

C, N, P = "orderflow-kafka", "orderflow", "dual-role"
KAFKA: dict[str, Any] = {"kind": "Kafka", "metadata": {"name": C, "namespace": N, "uid": "k-uid"}}
PEERS = [{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "orderflow"}}}]
SCRAM: Mapping[str, Any] = {
    "name": "scram",
    "port": 9093,
    "type": "internal",
    "tls": True,
    "authentication": {"type": "scram-sha-512"},
    "networkPolicyPeers": PEERS,
}
PLAIN: Mapping[str, Any] = {"name": "plain", "port": 9092, "type": "internal", "tls": False}
EXTERNAL: Mapping[str, Any] = {"name": "ext", "port": 9094, "type": "nodeport", "tls": True}


def pool(
    name: str = P,
    roles: tuple[str, ...] = ("controller", "broker"),
    storage: dict[str, Any] | None = None,
    resources_: dict[str, Any] | None = None,
) -> dict[str, Any]:
    volume = {"id": 0, "type": "persistent-claim", "size": "10Gi", "deleteClaim": False, "kraftMetadata": "shared"}
    spec: dict[str, Any] = {
        "replicas": 1,
        "roles": list(roles),
        "storage": storage if storage is not None else {"type": "jbod", "volumes": [volume]},
    }
    if resources_ is not None:
        spec["resources"] = resources_
    return {"metadata": {"name": name}, "spec": spec}


def nodes(pool_name: str, ids: list[int], roles: tuple[str, ...] = ("controller", "broker")) -> list[Node]:
    return [Node(i, naming.broker_pod(C, pool_name, i), roles) for i in ids]


def stateful_set(
    pool_: dict[str, Any] | None = None, ids: list[int] | None = None, listeners: list[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    pool_ = pool_ or pool()
    name = pool_["metadata"]["name"]
    roles = tuple(pool_["spec"]["roles"])
    return resources.stateful_set(
        C,
        N,
        pool_,
        nodes(name, ids or [0], roles),
        [SCRAM] if listeners is None else listeners,
        "kafka:4.3.1",
        "d1",
        KAFKA,
    )


def pod_spec(sts: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = sts["spec"]["template"]["spec"]
    return spec


def container(sts: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = pod_spec(sts)["containers"][0]
    return found


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


# Owner references and Secrets


def test_everything_is_owned_by_the_kafka_resource_blocking_its_deletion() -> None:
    """§1.4: owner = the Kafka CR; Strimzi sets blockOwnerDeletion true since 0.49."""
    assert resources.owner(KAFKA) == [
        {
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "Kafka",
            "name": C,
            "uid": "k-uid",
            "controller": False,
            "blockOwnerDeletion": True,
        }
    ]


def test_a_secret_holds_its_data_base64_encoded_with_labels_annotations_and_owner() -> None:
    labels = naming.ca_labels(C)
    data = {"ca.crt": b"-----BEGIN CERTIFICATE-----\n", "ca.password": b"s3cret"}
    found = resources.secret(naming.cluster_ca_cert(C), N, data, labels, KAFKA, {"strimzi.io/ca-cert-generation": "0"})
    assert found["kind"] == "Secret"
    assert found["type"] == "Opaque"
    assert {key: base64.b64decode(value) for key, value in found["data"].items()} == data
    assert found["metadata"] == {
        "name": "orderflow-kafka-cluster-ca-cert",
        "namespace": N,
        "labels": labels,
        "ownerReferences": resources.owner(KAFKA),
        "annotations": {"strimzi.io/ca-cert-generation": "0"},
    }


def test_a_secret_without_annotations_has_none() -> None:
    found = resources.secret("u", N, {}, {}, KAFKA)
    assert "annotations" not in found["metadata"]
    assert found["data"] == {}


# Services


def services(listeners: list[Mapping[str, Any]] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    bootstrap, brokers = resources.services(C, N, [SCRAM] if listeners is None else listeners, KAFKA)
    return bootstrap, brokers


def test_the_bootstrap_service_selects_brokers_on_replication_and_the_listeners_not_the_control_plane() -> None:
    """§1.3: `C-kafka-bootstrap`, ClusterIP, `tcp-replication` 9091 and `tcp-scram` 9093, no 9090; the selector
    labels and `strimzi.io/broker-role: "true"`; target ports by name."""
    bootstrap, _ = services()
    assert bootstrap["metadata"]["name"] == "orderflow-kafka-kafka-bootstrap"
    assert bootstrap["spec"]["type"] == "ClusterIP"
    assert bootstrap["spec"]["selector"] == {**naming.selector_labels(C), "strimzi.io/broker-role": "true"}
    assert bootstrap["spec"]["ports"] == [
        {"name": "tcp-replication", "port": 9091, "targetPort": "tcp-replication", "protocol": "TCP"},
        {"name": "tcp-scram", "port": 9093, "targetPort": "tcp-scram", "protocol": "TCP"},
    ]


def test_the_bootstrap_service_is_discoverable() -> None:
    """§1.3: Kafka labels plus `strimzi.io/discovery: "true"`; the annotation lists each internal listener."""
    bootstrap, _ = services([SCRAM, PLAIN])
    assert bootstrap["metadata"]["labels"] == {**naming.kafka_labels(C), "strimzi.io/discovery": "true"}
    assert json.loads(bootstrap["metadata"]["annotations"]["strimzi.io/discovery"]) == [
        {"port": 9093, "tls": True, "protocol": "kafka", "auth": "scram-sha-512"},
        {"port": 9092, "tls": False, "protocol": "kafka", "auth": "none"},
    ]


def test_the_brokers_service_is_headless_publishes_unready_pods_and_selects_every_node() -> None:
    """§1.3: `C-kafka-brokers`, `clusterIP: None`, `publishNotReadyAddresses: true`, the selector labels only
    (controllers too); `tcp-ctrlplane`, `tcp-replication` and the listeners (the stand-in has no Kafka agent, 8443)."""
    _, brokers = services()
    assert brokers["metadata"]["name"] == "orderflow-kafka-kafka-brokers"
    assert brokers["metadata"]["labels"] == naming.kafka_labels(C)
    assert brokers["spec"]["clusterIP"] == "None"
    assert brokers["spec"]["publishNotReadyAddresses"] is True
    assert brokers["spec"]["selector"] == naming.selector_labels(C)
    assert brokers["spec"]["ports"] == [
        {"name": "tcp-ctrlplane", "port": 9090, "targetPort": "tcp-ctrlplane", "protocol": "TCP"},
        {"name": "tcp-replication", "port": 9091, "targetPort": "tcp-replication", "protocol": "TCP"},
        {"name": "tcp-scram", "port": 9093, "targetPort": "tcp-scram", "protocol": "TCP"},
    ]


def test_only_internal_listeners_are_on_the_two_services() -> None:
    """KafkaCluster.getServicePorts/getHeadlessServicePorts take ListenersUtils.internalListeners."""
    bootstrap, brokers = services([SCRAM, EXTERNAL])
    for service in (bootstrap, brokers):
        assert 9094 not in [port["port"] for port in service["spec"]["ports"]]
    assert [entry["port"] for entry in json.loads(bootstrap["metadata"]["annotations"]["strimzi.io/discovery"])] == [
        9093
    ]


def test_strimzis_older_port_names_are_used_for_plain_and_tls() -> None:
    tls = {"name": "tls", "port": 9093, "type": "internal", "tls": True}
    bootstrap, _ = services([PLAIN, tls])
    assert [port["name"] for port in bootstrap["spec"]["ports"]] == ["tcp-replication", "tcp-clients", "tcp-clientstls"]


def test_every_service_port_targets_a_container_port_of_the_same_number() -> None:
    listeners: list[Mapping[str, Any]] = [SCRAM, PLAIN]
    container_ports = {p["name"]: p["containerPort"] for p in container(stateful_set(listeners=listeners))["ports"]}
    for service in services(listeners):
        for port in service["spec"]["ports"]:
            assert container_ports[port["targetPort"]] == port["port"]
    # …and the Services select the StatefulSet's pods.
    labels = stateful_set()["spec"]["template"]["metadata"]["labels"]
    for service in services():
        assert service["spec"]["selector"].items() <= labels.items()


def test_the_services_are_owned_by_the_kafka() -> None:
    for service in services():
        assert service["metadata"]["namespace"] == N
        assert service["metadata"]["ownerReferences"] == resources.owner(KAFKA)


# NetworkPolicy


def network_policy(listeners: list[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    return resources.network_policy(C, N, [SCRAM] if listeners is None else listeners, KAFKA)


def rule_for(policy: dict[str, Any], port: int) -> dict[str, Any]:
    (rule,) = [r for r in policy["spec"]["ingress"] if r["ports"] == [{"port": port, "protocol": "TCP"}]]
    found: dict[str, Any] = rule
    return found


BROKERS_PEER = {"podSelector": {"matchLabels": naming.selector_labels(C)}}
OPERATOR_PEER = {"podSelector": {"matchLabels": {"strimzi.io/kind": "cluster-operator"}}, "namespaceSelector": {}}
ENTITY_PEER = {"podSelector": {"matchLabels": {"strimzi.io/name": "orderflow-kafka-entity-operator"}}}


def test_the_network_policy_selects_the_kafka_pods_and_limits_ingress() -> None:
    """§1.5: `C-network-policy-kafka`, podSelector = selector labels, labels = Kafka labels."""
    policy = network_policy()
    assert policy["apiVersion"] == "networking.k8s.io/v1"
    assert policy["metadata"]["name"] == "orderflow-kafka-network-policy-kafka"
    assert policy["metadata"]["labels"] == naming.kafka_labels(C)
    assert policy["spec"]["podSelector"] == {"matchLabels": naming.selector_labels(C)}
    assert policy["spec"]["policyTypes"] == ["Ingress"]


def test_the_control_plane_is_open_to_the_brokers_and_the_cluster_operator_only() -> None:
    """§1.5: 9090 from the Kafka pods and the Cluster Operator (in another namespace: any namespace)."""
    assert rule_for(network_policy(), 9090)["from"] == [BROKERS_PEER, OPERATOR_PEER]


def test_replication_is_open_to_the_operators_and_the_brokers() -> None:
    """§1.5: 9091 from the Cluster Operator, the Kafka pods and the Entity Operator (same namespace)."""
    assert rule_for(network_policy(), 9091)["from"] == [OPERATOR_PEER, BROKERS_PEER, ENTITY_PEER]


def test_a_listeners_peers_are_copied_verbatim() -> None:
    rule = rule_for(network_policy(), 9093)
    assert rule["from"] == PEERS


@pytest.mark.parametrize("peers", [None, []])
def test_a_listener_without_peers_is_open_to_everyone(peers: list[dict[str, Any]] | None) -> None:
    """CRD: "If this field is empty or missing, all connections will be allowed for this listener"."""
    listener = {**SCRAM, "networkPolicyPeers": peers}
    assert "from" not in rule_for(network_policy([listener]), 9093)
    assert "from" not in rule_for(network_policy([PLAIN]), 9092)


def test_there_is_one_rule_per_port_and_nothing_else() -> None:
    policy = network_policy([SCRAM, PLAIN])
    assert [rule["ports"][0]["port"] for rule in policy["spec"]["ingress"]] == [9090, 9091, 9093, 9092]


# Per-node ConfigMap


def test_each_node_has_a_config_map_named_like_its_pod_with_its_config_and_the_cluster_id() -> None:
    """§1.1: per-node ConfigMap `C-P-0` with `server.config` and `cluster.id`."""
    node = nodes(P, [0])[0]
    labels = naming.pool_labels(C, P, ["controller", "broker"])
    found = resources.node_config_map(C, N, node, "node.id=0\n", "abcdefghijklmnopqrstuv", labels, KAFKA)
    assert found["kind"] == "ConfigMap"
    assert found["metadata"]["name"] == "orderflow-kafka-dual-role-0"
    assert found["metadata"]["labels"] == labels
    assert found["data"] == {"server.config": "node.id=0\n", "cluster.id": "abcdefghijklmnopqrstuv"}


# StatefulSet


def test_the_statefulset_is_named_like_strimzis_podset_and_governed_by_the_headless_service() -> None:
    sts = stateful_set(ids=[0, 1, 2])
    assert sts["metadata"]["name"] == "orderflow-kafka-dual-role"
    assert sts["metadata"]["labels"] == naming.pool_labels(C, P, ["controller", "broker"])
    assert sts["spec"]["serviceName"] == "orderflow-kafka-kafka-brokers"
    assert sts["spec"]["replicas"] == 3
    assert sts["spec"]["podManagementPolicy"] == "Parallel"


def test_the_pods_carry_the_pool_labels_and_the_selector_picks_only_this_pool() -> None:
    sts = stateful_set()
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert labels == naming.pool_labels(C, P, ["controller", "broker"])
    assert sts["spec"]["selector"]["matchLabels"] == {**naming.selector_labels(C), "strimzi.io/pool-name": P}
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert sts["spec"]["template"]["metadata"]["annotations"] == {"strimzi.io/revision": "d1"}


def statefulset_pods(sts: dict[str, Any]) -> list[str]:
    """The pod names Kubernetes gives a StatefulSet's replicas."""
    start = (sts["spec"].get("ordinals") or {}).get("start", 0)
    return [f"{sts['metadata']['name']}-{i}" for i in range(start, start + sts["spec"]["replicas"])]


@pytest.mark.parametrize(("pool_name", "ids"), [(P, [0]), (P, [0, 1, 2]), ("brokers", [3, 4])])
def test_the_pods_and_their_claims_get_strimzis_names(pool_name: str, ids: list[int]) -> None:
    """§1.1: pods `C-P-<nodeId>`, JBOD claims `data-0-C-P-<nodeId>`; a StatefulSet claim is `<template>-<pod>`, and
    a second pool's ids do not start at 0."""
    sts = stateful_set(pool(pool_name), ids=ids)
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    pods = statefulset_pods(sts)
    assert pods == [naming.broker_pod(C, pool_name, i) for i in ids]
    assert [f"{claim['metadata']['name']}-{pod}" for pod in pods] == [naming.data_claim(0, pod) for pod in pods]


def test_each_pods_config_and_certificates_are_projected_under_its_own_name() -> None:
    """The start script reads `$HOSTNAME/server.config` and `$HOSTNAME.key`: each pod finds its own."""
    sts = stateful_set(ids=[0, 1])
    volumes = by_name(pod_spec(sts)["volumes"])
    configs = volumes["node-config"]["projected"]["sources"]
    certificates = volumes["broker-certs"]["projected"]["sources"]
    for pod, config, certificate in zip(statefulset_pods(sts), configs, certificates, strict=True):
        assert config["configMap"]["name"] == pod
        assert [item["path"] for item in config["configMap"]["items"]] == [f"{pod}/server.config", f"{pod}/cluster.id"]
        assert certificate["secret"]["name"] == pod
        assert certificate["secret"]["items"] == [
            {"key": f"{pod}.crt", "path": f"{pod}.crt"},
            {"key": f"{pod}.key", "path": f"{pod}.key"},
        ]


def test_the_files_the_broker_config_names_are_the_files_the_pod_mounts() -> None:
    sts = stateful_set()
    mounts = {m["mountPath"]: m["name"] for m in container(sts)["volumeMounts"]}
    volumes = by_name(pod_spec(sts)["volumes"])
    for path, secret in (
        (brokerconfig.CLUSTER_CA, naming.cluster_ca_cert(C)),
        (brokerconfig.CLIENTS_CA, naming.clients_ca_cert(C)),
    ):
        directory, file = path.rsplit("/", 1)
        volume = volumes[mounts[directory]]["secret"]
        assert volume["secretName"] == secret
        assert volume["items"] == [{"key": "ca.crt", "path": file}]
    assert mounts[f"{brokerconfig.DATA_ROOT}/data-0"] == "data-0"
    assert brokerconfig.KEYSTORE.startswith("/tmp/")
    assert mounts["/tmp"] == "tmp"
    assert brokerconfig.KEYSTORE in container(sts)["command"][-1]


def test_the_claim_is_read_write_once_with_the_pools_size_class_and_delete_claim() -> None:
    """§1.1: ReadWriteOnce, annotation `strimzi.io/delete-claim`, pool labels."""
    volume = {"id": 0, "type": "persistent-claim", "size": "5Gi", "class": "local-path", "deleteClaim": True}
    (claim,) = stateful_set(pool(storage={"type": "jbod", "volumes": [volume]}))["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["labels"] == naming.pool_labels(C, P, ["controller", "broker"])
    assert claim["metadata"]["annotations"] == {"strimzi.io/delete-claim": "true"}
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "5Gi"}},
        "storageClassName": "local-path",
    }


def test_a_claim_without_class_uses_the_default_and_is_kept() -> None:
    (claim,) = stateful_set()["spec"]["volumeClaimTemplates"]
    assert "storageClassName" not in claim["spec"]
    assert claim["metadata"]["annotations"] == {"strimzi.io/delete-claim": "false"}


def test_ephemeral_storage_is_an_empty_dir_and_no_claim() -> None:
    sts = stateful_set(pool(storage={"type": "ephemeral"}))
    assert sts["spec"]["volumeClaimTemplates"] == []
    assert by_name(pod_spec(sts)["volumes"])["data-0"] == {"name": "data-0", "emptyDir": {}}


# The `restricted` Pod Security Standard (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def test_the_broker_pods_meet_the_restricted_pod_security_profile() -> None:
    sts = stateful_set(ids=[0, 1])
    spec = pod_spec(sts)
    security = spec["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security.get("runAsUser") != 0
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        assert not spec.get(flag)
    for volume in spec["volumes"]:
        (kind,) = set(volume) - {"name"}
        assert kind in RESTRICTED_VOLUME_TYPES
    for each in spec["containers"] + spec.get("initContainers", []):
        context = each["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert not context["capabilities"].get("add")
        assert not context.get("privileged")
        assert context.get("runAsUser") != 0
        assert context.get("seccompProfile", {"type": "RuntimeDefault"})["type"] in ("RuntimeDefault", "Localhost")
        assert not [port for port in each["ports"] if port.get("hostPort")]


def test_the_container_exposes_the_control_plane_replication_and_each_listener() -> None:
    ports = container(stateful_set(listeners=[SCRAM, PLAIN]))["ports"]
    assert ports == [
        {"name": "tcp-ctrlplane", "containerPort": 9090},
        {"name": "tcp-replication", "containerPort": 9091},
        {"name": "tcp-scram", "containerPort": 9093},
        {"name": "tcp-clients", "containerPort": 9092},
    ]


def test_a_broker_is_ready_when_its_first_listener_answers_a_controller_when_its_control_plane_does() -> None:
    broker = container(stateful_set())
    assert broker["readinessProbe"]["tcpSocket"] == {"port": 9093}
    assert broker["livenessProbe"]["tcpSocket"] == {"port": 9093}
    controller = container(stateful_set(pool(roles=("controller",))))
    assert controller["readinessProbe"]["tcpSocket"] == {"port": 9090}


def heap(resources_: dict[str, Any] | None) -> str:
    env = by_name(container(stateful_set(pool(resources_=resources_)))["env"])
    value: str = env["KAFKA_HEAP_OPTS"]["value"]
    return value


@pytest.mark.parametrize(
    ("limit", "megabytes"),
    [
        ("2Gi", 1024),
        ("1Gi", 512),
        ("1.5Gi", 768),
        ("768Mi", 384),
        ("1G", 500),
        ("1000M", 500),
        ("2147483648", 1024),
        (2147483648, 1024),
        ("200Mi", 128),  # never under 128 MiB
    ],
)
def test_the_heap_is_half_the_memory_limit(limit: str | int, megabytes: int) -> None:
    assert heap({"limits": {"memory": limit}, "requests": {"memory": "64Mi"}}) == f"-Xms{megabytes}m -Xmx{megabytes}m"


@pytest.mark.parametrize("resources_", [None, {}, {"requests": {"memory": "4Gi"}}])
def test_without_a_memory_limit_the_heap_is_half_a_gibibyte(resources_: dict[str, Any] | None) -> None:
    assert heap(resources_) == "-Xms512m -Xmx512m"


def test_the_pools_resources_are_the_containers() -> None:
    given = {"limits": {"memory": "2Gi", "cpu": "1"}, "requests": {"memory": "2Gi", "cpu": "250m"}}
    assert container(stateful_set(pool(resources_=given)))["resources"] == given


# PodDisruptionBudget


def test_the_disruption_budget_lets_one_kafka_pod_go_at_a_time() -> None:
    """§1.1: PDB `C-kafka`."""
    found = resources.disruption_budget(C, N, KAFKA)
    assert found["metadata"]["name"] == "orderflow-kafka-kafka"
    assert found["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": naming.selector_labels(C)}}
