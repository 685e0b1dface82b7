"""A node's `server.config` (/tmp/research/strimzi.md §1.6, KafkaBrokerConfigurationBuilder).

Where Strimzi reads PEM material through its Secret config provider
(`ssl.keystore.certificate.chain=${strimzisecrets:N/C-P-0:C-P-0.crt}`), the stand-in mounts those Secrets and
points a PEM keystore and truststore at files; every other property is Strimzi's, value for value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devstack.strimzi import brokerconfig, naming
from devstack.strimzi.brokerconfig import Node

C, N = "orderflow-kafka", "orderflow"
POD = "orderflow-kafka-dual-role-0"
OWN = f"{POD}.orderflow-kafka-kafka-brokers.orderflow.svc"
SCRAM: Mapping[str, Any] = {
    "name": "scram",
    "port": 9093,
    "type": "internal",
    "tls": True,
    "authentication": {"type": "scram-sha-512"},
}
SIMPLE = {"type": "simple"}
DUAL = Node(0, POD, ("controller", "broker"))


def config(
    node: Node = DUAL,
    voters: list[Node] | None = None,
    listeners: list[Mapping[str, Any]] | None = None,
    authorization: dict[str, Any] | None = SIMPLE,
    user: dict[str, Any] | None = None,
) -> dict[str, str]:
    return brokerconfig.server_config(
        C,
        N,
        node,
        [DUAL] if voters is None else voters,
        [SCRAM] if listeners is None else listeners,
        authorization,
        user or {},
    )


def tls(prefix: str, truststore: str = brokerconfig.CLUSTER_CA) -> dict[str, str]:
    """The stand-in's form of Strimzi's keystore/truststore lines for one listener."""
    return {
        f"listener.name.{prefix}.ssl.keystore.location": brokerconfig.KEYSTORE,
        f"listener.name.{prefix}.ssl.keystore.type": "PEM",
        f"listener.name.{prefix}.ssl.truststore.location": truststore,
        f"listener.name.{prefix}.ssl.truststore.type": "PEM",
    }


# §1.6 for C-P-0, the example's only node (dual role, listener `scram` 9093 tls scram-sha-512, authorization simple).
EXAMPLE = {
    "node.id": "0",
    "process.roles": "broker,controller",
    "controller.listener.names": "CONTROLPLANE-9090",
    "controller.quorum.voters": f"0@{OWN}.cluster.local:9090",
    "metadata.log.dir": "/var/lib/kafka/data-0/kafka-log0",
    "log.dirs": "/var/lib/kafka/data-0/kafka-log0",
    **tls("controlplane-9090"),
    "listener.name.controlplane-9090.ssl.client.auth": "required",
    **tls("replication-9091"),
    "listener.name.replication-9091.ssl.client.auth": "required",
    "listener.name.scram-9093.scram-sha-512.sasl.jaas.config": (
        "org.apache.kafka.common.security.scram.ScramLoginModule required ;"
    ),
    "listener.name.scram-9093.sasl.enabled.mechanisms": "SCRAM-SHA-512",
    "listener.name.scram-9093.ssl.keystore.location": brokerconfig.KEYSTORE,
    "listener.name.scram-9093.ssl.keystore.type": "PEM",
    "listener.security.protocol.map": "CONTROLPLANE-9090:SSL,REPLICATION-9091:SSL,SCRAM-9093:SASL_SSL",
    "listeners": "CONTROLPLANE-9090://0.0.0.0:9090,REPLICATION-9091://0.0.0.0:9091,SCRAM-9093://0.0.0.0:9093",
    "inter.broker.listener.name": "REPLICATION-9091",
    "advertised.listeners": (f"CONTROLPLANE-9090://{OWN}:9090,REPLICATION-9091://{OWN}:9091,SCRAM-9093://{OWN}:9093"),
    "sasl.enabled.mechanisms": "",
    "ssl.endpoint.identification.algorithm": "HTTPS",
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": (
        "User:CN=orderflow-kafka-kafka,O=io.strimzi;User:CN=orderflow-kafka-entity-topic-operator,O=io.strimzi;"
        "User:CN=orderflow-kafka-entity-user-operator,O=io.strimzi;User:CN=orderflow-kafka-kafka-exporter,O=io.strimzi;"
        "User:CN=orderflow-kafka-cruise-control,O=io.strimzi;User:CN=cluster-operator,O=io.strimzi"
    ),
}


def test_the_example_node_has_every_property_strimzi_writes_for_it() -> None:
    found = config()
    assert {key: found.get(key) for key in EXAMPLE} == EXAMPLE


def test_the_example_node_has_nothing_strimzi_leaves_to_kafka() -> None:
    """§1.6 "Not set by Strimzi": no ACL means no access; the default principal builder makes mTLS principals
    full DNs."""
    found = config()
    for key in ("allow.everyone.if.no.acl.found", "principal.builder.class", "auto.create.topics.enable"):
        assert key not in found
    # The only other keys are the truststore of the scram listener (the stand-in's file form of Strimzi's PEM).
    assert set(found) - set(EXAMPLE) == {
        "listener.name.scram-9093.ssl.truststore.location",
        "listener.name.scram-9093.ssl.truststore.type",
    }


def test_the_scram_jaas_line_ends_with_required_space_semicolon_as_strimzi_writes_it() -> None:
    assert brokerconfig.SCRAM_JAAS.endswith(" required ;")


def test_brokers_advertise_the_pods_svc_name_and_voters_use_the_cluster_domain() -> None:
    """§1.6: quorum voters with the cluster domain, advertised listeners without it."""
    found = config()
    assert all(address.split("//")[1].startswith(OWN + ":") for address in found["advertised.listeners"].split(","))
    assert ".cluster.local" not in found["advertised.listeners"]
    assert found["controller.quorum.voters"] == f"0@{OWN}.cluster.local:9090"


def nodes(pool: str, ids: list[int], roles: tuple[str, ...]) -> list[Node]:
    return [Node(i, naming.broker_pod(C, pool, i), roles) for i in ids]


def test_every_controller_is_a_voter_by_node_id_and_pod_name() -> None:
    controllers = nodes("controllers", [0, 1, 2], ("controller",))
    found = config(node=nodes("brokers", [3], ("broker",))[0], voters=controllers)
    assert found["controller.quorum.voters"] == ",".join(
        f"{i}@orderflow-kafka-controllers-{i}.orderflow-kafka-kafka-brokers.orderflow.svc.cluster.local:9090"
        for i in (0, 1, 2)
    )


def test_a_broker_only_node_serves_replication_and_the_listeners_but_not_the_control_plane() -> None:
    node = nodes("brokers", [3], ("broker",))[0]
    own = naming.pod_dns_name(node.pod, C, N)
    found = config(node=node, voters=nodes("controllers", [0], ("controller",)))
    assert found["node.id"] == "3"
    assert found["process.roles"] == "broker"
    assert found["listeners"] == "REPLICATION-9091://0.0.0.0:9091,SCRAM-9093://0.0.0.0:9093"
    assert found["advertised.listeners"] == f"REPLICATION-9091://{own}:9091,SCRAM-9093://{own}:9093"
    assert found["inter.broker.listener.name"] == "REPLICATION-9091"
    # It still reaches the controllers: their listener's name and protocol are known to it.
    assert found["controller.listener.names"] == "CONTROLPLANE-9090"
    assert "CONTROLPLANE-9090:SSL" in found["listener.security.protocol.map"].split(",")
    assert found["log.dirs"] == "/var/lib/kafka/data-0/kafka-log3"


def test_a_controller_only_node_serves_and_advertises_only_the_control_plane() -> None:
    node = nodes("controllers", [0], ("controller",))[0]
    own = naming.pod_dns_name(node.pod, C, N)
    found = config(node=node, voters=[node])
    assert found["process.roles"] == "controller"
    assert found["listeners"] == "CONTROLPLANE-9090://0.0.0.0:9090"
    assert found["advertised.listeners"] == f"CONTROLPLANE-9090://{own}:9090"
    assert "inter.broker.listener.name" not in found
    assert found["listener.name.controlplane-9090.ssl.client.auth"] == "required"
    assert found["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def test_process_roles_are_sorted_whatever_order_the_pool_gives() -> None:
    assert config(node=Node(0, POD, ("broker", "controller")))["process.roles"] == "broker,controller"


def test_a_tls_authenticated_listener_requires_client_certificates_from_the_clients_ca() -> None:
    """§1.6: `type: tls` adds `ssl.client.auth=required` and the clients CA as truststore; the protocol is SSL."""
    listener = {"name": "tls", "port": 9094, "type": "internal", "tls": True, "authentication": {"type": "tls"}}
    found = config(listeners=[listener])
    assert found["listener.security.protocol.map"].endswith(",TLS-9094:SSL")
    assert {key: value for key, value in found.items() if key.startswith("listener.name.tls-9094.")} == {
        **tls("tls-9094", brokerconfig.CLIENTS_CA),
        "listener.name.tls-9094.ssl.client.auth": "required",
    }


def test_a_tls_listener_without_authentication_is_ssl_without_client_certificates() -> None:
    listener = {"name": "tls", "port": 9093, "type": "internal", "tls": True}
    found = config(listeners=[listener])
    assert "TLS-9093:SSL" in found["listener.security.protocol.map"].split(",")
    assert "listener.name.tls-9093.ssl.client.auth" not in found
    assert found["listener.name.tls-9093.ssl.keystore.location"] == brokerconfig.KEYSTORE


def test_a_plain_listener_is_plaintext_with_no_listener_settings() -> None:
    listener = {"name": "plain", "port": 9092, "type": "internal", "tls": False}
    found = config(listeners=[listener])
    assert found["listener.security.protocol.map"] == "CONTROLPLANE-9090:SSL,REPLICATION-9091:SSL,PLAIN-9092:PLAINTEXT"
    assert found["listeners"].endswith(",PLAIN-9092://0.0.0.0:9092")
    assert not [key for key in found if key.startswith("listener.name.plain-9092.")]


def test_a_plain_scram_listener_is_sasl_plaintext_with_the_scram_login_module_and_no_tls() -> None:
    listener = {"name": "sasl", "port": 9095, "type": "internal", "authentication": {"type": "scram-sha-512"}}
    found = config(listeners=[listener])
    assert "SASL-9095:SASL_PLAINTEXT" in found["listener.security.protocol.map"].split(",")
    assert {key: value for key, value in found.items() if key.startswith("listener.name.sasl-9095.")} == {
        "listener.name.sasl-9095.scram-sha-512.sasl.jaas.config": brokerconfig.SCRAM_JAAS,
        "listener.name.sasl-9095.sasl.enabled.mechanisms": "SCRAM-SHA-512",
    }


@pytest.mark.parametrize(
    ("listener", "expected"),
    [
        ({"tls": True, "authentication": {"type": "scram-sha-512"}}, "SASL_SSL"),
        ({"tls": True, "authentication": {"type": "tls"}}, "SSL"),
        ({"tls": True}, "SSL"),
        ({"tls": True, "authentication": None}, "SSL"),
        ({"tls": False, "authentication": {"type": "scram-sha-512"}}, "SASL_PLAINTEXT"),
        ({"authentication": {"type": "scram-sha-512"}}, "SASL_PLAINTEXT"),
        ({"tls": False}, "PLAINTEXT"),
        ({}, "PLAINTEXT"),
    ],
)
def test_a_listeners_protocol_follows_its_tls_and_authentication(listener: dict[str, Any], expected: str) -> None:
    assert brokerconfig.protocol(listener) == expected


def test_every_listener_is_in_the_protocol_map_listeners_and_advertised_listeners_in_order() -> None:
    listeners: list[Mapping[str, Any]] = [
        SCRAM,
        {"name": "plain", "port": 9092, "type": "internal"},
        {"name": "tls", "port": 9094, "type": "internal", "tls": True, "authentication": {"type": "tls"}},
    ]
    found = config(listeners=listeners)
    names = ["CONTROLPLANE-9090", "REPLICATION-9091", "SCRAM-9093", "PLAIN-9092", "TLS-9094"]
    assert [entry.split(":")[0] for entry in found["listener.security.protocol.map"].split(",")] == names
    assert [entry.split(":")[0] for entry in found["listeners"].split(",")] == names
    assert [entry.split(":")[0] for entry in found["advertised.listeners"].split(",")] == names


def test_users_named_in_authorization_become_super_users_after_strimzis_own() -> None:
    """§1.6: `spec.kafka.authorization.superUsers` are added as `User:<value>`, after Strimzi's six."""
    found = config(authorization={"type": "simple", "superUsers": ["admin", "CN=ops,O=example"]})
    assert found["super.users"].split(";") == [*naming.super_users(C), "User:admin", "User:CN=ops,O=example"]


def test_without_authorization_there_is_no_authorizer_and_no_super_user() -> None:
    found = config(authorization=None)
    assert "authorizer.class.name" not in found
    assert "super.users" not in found


def test_the_users_configuration_comes_last_and_wins() -> None:
    user = {
        "auto.create.topics.enable": False,
        "unclean.leader.election.enable": True,
        "min.insync.replicas": 2,
        "ssl.endpoint.identification.algorithm": "",
        "log.retention.hours": 1.5,
    }
    found = config(user=user)
    assert found["auto.create.topics.enable"] == "false"
    assert found["unclean.leader.election.enable"] == "true"
    assert found["min.insync.replicas"] == "2"
    assert found["ssl.endpoint.identification.algorithm"] == ""
    assert found["log.retention.hours"] == "1.5"
    assert list(found)[-4:] == [
        "auto.create.topics.enable",
        "unclean.leader.election.enable",
        "min.insync.replicas",
        "log.retention.hours",
    ]


config_keys = st.from_regex(r"[a-z]+(\.[a-z]+){1,3}", fullmatch=True)
config_values = st.one_of(st.booleans(), st.integers(), st.text(st.characters(codec="ascii", exclude_characters="\n")))


@given(user=st.dictionaries(config_keys, config_values, max_size=8))
def test_every_user_setting_is_rendered_as_kafka_reads_it(user: dict[str, Any]) -> None:
    found = config(user=user)
    for key, value in user.items():
        expected = ("true" if value else "false") if isinstance(value, bool) else str(value)
        assert found[key] == expected


def test_render_writes_one_key_value_line_per_property_in_order() -> None:
    assert brokerconfig.render({"b": "1", "a": "", "c": "x=y"}) == "b=1\na=\nc=x=y\n"


def test_the_rendered_example_reads_back_to_the_same_properties() -> None:
    found = config(user={"auto.create.topics.enable": False})
    lines = brokerconfig.render(found).splitlines()
    assert dict(line.split("=", 1) for line in lines) == found
    assert lines[-1] == "auto.create.topics.enable=false"
