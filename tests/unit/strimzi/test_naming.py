"""Strimzi's names, labels and DNS names for a Kafka cluster (/tmp/research/strimzi.md §1.1 to §1.4, §1.6).

The example throughout is Strimzi's: Kafka `C` in namespace `N` with one KafkaNodePool `P`, here the chart's
names: Kafka `orderflow-kafka` in `orderflow`, pool `dual-role`.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devstack.strimzi import naming

C, P, N = "orderflow-kafka", "dual-role", "orderflow"
POD = "orderflow-kafka-dual-role-0"


def test_a_broker_pod_is_named_after_the_cluster_the_pool_and_its_node_id() -> None:
    """§1.1: `<kafka>-<pool>-<nodeId>` (KafkaResources.kafkaPodName)."""
    assert naming.broker_pod(C, P, 0) == POD
    assert naming.broker_pod(C, P, 7) == "orderflow-kafka-dual-role-7"


def test_a_jbod_volume_claim_is_data_then_the_volume_id_then_the_pod() -> None:
    """§1.1: `data-<volumeId>-<podName>` for JBOD (PersistentVolumeClaimUtils)."""
    assert naming.data_claim(0, POD) == "data-0-orderflow-kafka-dual-role-0"
    assert naming.data_claim(2, POD) == "data-2-orderflow-kafka-dual-role-0"


def test_services_secrets_and_the_network_policy_have_strimzis_names() -> None:
    """§1.1, §1.3, §1.4 (KafkaResources)."""
    assert naming.bootstrap_service(C) == "orderflow-kafka-kafka-bootstrap"
    assert naming.brokers_service(C) == "orderflow-kafka-kafka-brokers"
    assert naming.cluster_ca_cert(C) == "orderflow-kafka-cluster-ca-cert"
    assert naming.cluster_ca_key(C) == "orderflow-kafka-cluster-ca"
    assert naming.clients_ca_cert(C) == "orderflow-kafka-clients-ca-cert"
    assert naming.clients_ca_key(C) == "orderflow-kafka-clients-ca"
    assert naming.network_policy(C) == "orderflow-kafka-network-policy-kafka"


def test_the_fixed_ports_are_strimzis_control_plane_and_replication_ports() -> None:
    assert (naming.CONTROL_PLANE_PORT, naming.REPLICATION_PORT) == (9090, 9091)


def test_a_listener_is_its_name_and_port_upper_cased_in_the_broker_configuration() -> None:
    """§1.6: `scram` on 9093 is SCRAM-9093 (ListenersUtils.identifier, upper-cased)."""
    assert naming.listener_name("scram", 9093) == "SCRAM-9093"
    assert naming.listener_name("tls2", 9094) == "TLS2-9094"


def listener(name: str, port: int, kind: str = "internal") -> dict[str, Any]:
    return {"name": name, "port": port, "type": kind, "tls": True}


def test_a_listener_port_is_tcp_and_its_name() -> None:
    """§1.3: `scram` on 9093 → `tcp-scram`."""
    assert naming.port_name(listener("scram", 9093)) == "tcp-scram"


@pytest.mark.parametrize(
    ("name", "port", "kind", "expected"),
    [
        ("plain", 9092, "internal", "tcp-clients"),
        ("tls", 9093, "internal", "tcp-clientstls"),
        ("external", 9094, "nodeport", "tcp-external"),
        ("external", 9094, "internal", "tcp-external"),
        # Only the exact legacy triples keep the old names.
        ("plain", 9092, "cluster-ip", "tcp-plain"),
        ("plain", 9095, "internal", "tcp-plain"),
        ("tls", 9093, "loadbalancer", "tcp-tls"),
        ("tls", 9092, "internal", "tcp-tls"),
        ("external", 9095, "nodeport", "tcp-external"),
    ],
)
def test_strimzis_three_older_listener_port_names_are_kept(name: str, port: int, kind: str, expected: str) -> None:
    """§1.3, ListenersUtils.backwardsCompatiblePortName."""
    assert naming.port_name(listener(name, port, kind)) == expected


# The v1 CRD's listener name pattern (§5).
listener_names = st.from_regex(r"[a-z0-9]{1,11}", fullmatch=True)


@given(name=listener_names, port=st.integers(9092, 65535))
def test_every_valid_listener_gives_a_valid_kubernetes_port_name(name: str, port: int) -> None:
    """An IANA service name: at most 15 characters, lower-case letters, digits and inner dashes, one letter."""
    found = naming.port_name(listener(name, port))
    assert len(found) <= 15
    assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", found)
    assert "--" not in found
    assert re.search(r"[a-z]", found)


@given(name=listener_names, port=st.integers(9092, 65535))
def test_the_configuration_name_of_a_listener_is_unique_per_name_and_port(name: str, port: int) -> None:
    found = naming.listener_name(name, port)
    assert found == f"{name.upper()}-{port}"
    assert found.lower().split("-") == [name, str(port)]


def test_selector_labels_are_exactly_cluster_name_and_kind() -> None:
    """§1.2: Labels.strimziSelectorLabels."""
    assert naming.selector_labels(C) == {
        "strimzi.io/cluster": C,
        "strimzi.io/name": "orderflow-kafka-kafka",
        "strimzi.io/kind": "Kafka",
    }


def test_kafka_labels_are_the_selector_labels_plus_component_and_kubernetes_labels() -> None:
    """§1.3: the labels of the Services, the NetworkPolicy and the broker certificates' Secrets."""
    assert naming.kafka_labels(C) == {
        "strimzi.io/cluster": C,
        "strimzi.io/name": "orderflow-kafka-kafka",
        "strimzi.io/kind": "Kafka",
        "strimzi.io/component-type": "kafka",
        "app.kubernetes.io/name": "kafka",
        "app.kubernetes.io/instance": C,
        "app.kubernetes.io/part-of": "strimzi-orderflow-kafka",
        "app.kubernetes.io/managed-by": "strimzi-cluster-operator",
    }


def test_a_dual_role_pool_labels_its_pods_as_strimzi_does() -> None:
    """§1.2, the broker pod's labels, less the per-pod ones (the StatefulSet adds
    `statefulset.kubernetes.io/pod-name`); `strimzi.io/name` is `<cluster>-kafka`, not `<cluster>-<pool>`."""
    assert naming.pool_labels(C, P, ["controller", "broker"]) == {
        "strimzi.io/cluster": C,
        "strimzi.io/kind": "Kafka",
        "strimzi.io/name": "orderflow-kafka-kafka",
        "strimzi.io/component-type": "kafka",
        "strimzi.io/pool-name": P,
        "strimzi.io/broker-role": "true",
        "strimzi.io/controller-role": "true",
        "strimzi.io/controller": "strimzipodset",
        "strimzi.io/controller-name": "orderflow-kafka-dual-role",
        "app.kubernetes.io/name": "kafka",
        "app.kubernetes.io/instance": C,
        "app.kubernetes.io/part-of": "strimzi-orderflow-kafka",
        "app.kubernetes.io/managed-by": "strimzi-cluster-operator",
    }


@pytest.mark.parametrize(
    ("roles", "broker", "controller"),
    [(["broker"], "true", "false"), (["controller"], "false", "true"), ([], "false", "false")],
)
def test_single_role_pools_say_false_for_the_role_they_lack(roles: list[str], broker: str, controller: str) -> None:
    labels = naming.pool_labels(C, "p", roles)
    assert (labels["strimzi.io/broker-role"], labels["strimzi.io/controller-role"]) == (broker, controller)


def test_every_pool_label_is_a_string_and_the_selector_labels_are_among_them() -> None:
    labels = naming.pool_labels(C, P, ["broker"])
    assert all(isinstance(value, str) for value in labels.values())
    assert naming.selector_labels(C).items() <= labels.items()
    assert naming.kafka_labels(C).items() <= labels.items()


def test_the_certificate_authorities_secrets_carry_strimzis_default_labels() -> None:
    """§1.4: Labels.generateDefaultLabels(kafka, "strimzi", "certificate-authority", "strimzi-cluster-operator")."""
    assert naming.ca_labels(C) == {
        "strimzi.io/kind": "Kafka",
        "strimzi.io/cluster": C,
        "strimzi.io/name": "strimzi",
        "strimzi.io/component-type": "certificate-authority",
        "app.kubernetes.io/name": "certificate-authority",
        "app.kubernetes.io/instance": C,
        "app.kubernetes.io/part-of": "strimzi-orderflow-kafka",
        "app.kubernetes.io/managed-by": "strimzi-cluster-operator",
    }


def test_a_service_has_four_dns_names_from_short_to_fully_qualified() -> None:
    assert naming.service_dns_names("svc", N) == [
        "svc",
        "svc.orderflow",
        "svc.orderflow.svc",
        "svc.orderflow.svc.cluster.local",
    ]


def test_a_pod_is_advertised_under_the_headless_service_without_the_cluster_domain() -> None:
    """§1.6 advertised.listeners, §4: `C-P-0.C-kafka-brokers.N.svc`."""
    assert naming.pod_dns_name(POD, C, N) == "orderflow-kafka-dual-role-0.orderflow-kafka-kafka-brokers.orderflow.svc"


def test_a_broker_certificate_names_every_form_of_both_services_and_its_own_pod() -> None:
    """§1.4, exactly and in this order (KafkaCluster.buildKafkaNodeCertsSubject, ModelUtils.generateAllServiceDnsNames):
    no wildcards, and the pod only with `.svc` and `.svc.cluster.local`."""
    assert naming.broker_sans(C, N, POD) == [
        "orderflow-kafka-kafka-bootstrap",
        "orderflow-kafka-kafka-bootstrap.orderflow",
        "orderflow-kafka-kafka-bootstrap.orderflow.svc",
        "orderflow-kafka-kafka-bootstrap.orderflow.svc.cluster.local",
        "orderflow-kafka-kafka-brokers",
        "orderflow-kafka-kafka-brokers.orderflow",
        "orderflow-kafka-kafka-brokers.orderflow.svc",
        "orderflow-kafka-kafka-brokers.orderflow.svc.cluster.local",
        "orderflow-kafka-dual-role-0.orderflow-kafka-kafka-brokers.orderflow.svc.cluster.local",
        "orderflow-kafka-dual-role-0.orderflow-kafka-kafka-brokers.orderflow.svc",
    ]


def test_each_broker_certificate_names_its_own_pod_and_no_other() -> None:
    first, second = (naming.broker_sans(C, N, naming.broker_pod(C, P, i)) for i in (0, 1))
    assert first[:8] == second[:8]
    assert not set(first[8:]) & set(second[8:])
    assert not [name for name in first + second if "*" in name]


def test_the_brokers_and_operators_are_known_by_their_certificate_subjects() -> None:
    """§1.6: mTLS principals are the full DN, `CN=...,O=io.strimzi`."""
    assert naming.broker_principal(C) == "CN=orderflow-kafka-kafka,O=io.strimzi"
    assert naming.operator_principal(C, "topic") == "CN=orderflow-kafka-entity-topic-operator,O=io.strimzi"
    assert naming.operator_principal(C, "user") == "CN=orderflow-kafka-entity-user-operator,O=io.strimzi"


def test_the_super_users_are_strimzis_six_in_its_order() -> None:
    """§1.6 super.users (KafkaBrokerConfigurationBuilder.withAuthorization)."""
    assert naming.super_users(C) == [
        "User:CN=orderflow-kafka-kafka,O=io.strimzi",
        "User:CN=orderflow-kafka-entity-topic-operator,O=io.strimzi",
        "User:CN=orderflow-kafka-entity-user-operator,O=io.strimzi",
        "User:CN=orderflow-kafka-kafka-exporter,O=io.strimzi",
        "User:CN=orderflow-kafka-cruise-control,O=io.strimzi",
        "User:CN=cluster-operator,O=io.strimzi",
    ]
