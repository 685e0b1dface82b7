"""Kafka's Admin API as the stand-in's Topic and User Operators use it, through librdkafka (confluent-kafka):
topics, their configuration and partitions, SCRAM credentials and ACLs.

It connects as Strimzi's operators do: to the replication listener (9091) with mutual TLS, as a super user
(CN=cluster-operator,O=io.strimzi, naming.super_users), verifying the brokers' hostnames against the cluster CA.
Every call blocks (librdkafka's futures); the handlers run them in a thread.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from devstack.strimzi.acls import Binding

TIMEOUT = 30.0
# Strimzi's User Operator: SCRAM-SHA-512 with 4096 iterations.
ITERATIONS = 4096
_RESOURCES = {
    "topic": ResourceType.TOPIC,
    "group": ResourceType.GROUP,
    "cluster": ResourceType.BROKER,
    "transactionalId": ResourceType.TRANSACTIONAL_ID,
}
_PATTERNS = {"literal": ResourcePatternType.LITERAL, "prefix": ResourcePatternType.PREFIXED}
_OPERATIONS = {
    "Read": AclOperation.READ,
    "Write": AclOperation.WRITE,
    "Create": AclOperation.CREATE,
    "Delete": AclOperation.DELETE,
    "Alter": AclOperation.ALTER,
    "Describe": AclOperation.DESCRIBE,
    "ClusterAction": AclOperation.CLUSTER_ACTION,
    "AlterConfigs": AclOperation.ALTER_CONFIGS,
    "DescribeConfigs": AclOperation.DESCRIBE_CONFIGS,
    "IdempotentWrite": AclOperation.IDEMPOTENT_WRITE,
    "All": AclOperation.ALL,
}
_PERMISSIONS = {"allow": AclPermissionType.ALLOW, "deny": AclPermissionType.DENY}


class AdminError(RuntimeError):
    """Kafka refused or did not answer; the message carries Kafka's error."""


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    replicas: int


def _wait(futures: Mapping[Any, Any]) -> dict[Any, Any]:
    results = {}
    for key, future in futures.items():
        try:
            results[key] = future.result(timeout=TIMEOUT)
        except KafkaException as error:
            raise AdminError(f"{key}: {error.args[0]}") from error
    return results


class Admin:
    def __init__(self, bootstrap: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes) -> None:
        self._files = tempfile.TemporaryDirectory(prefix="standin-")
        folder = Path(self._files.name)
        for name, content in (("ca.crt", ca_pem), ("client.crt", cert_pem), ("client.key", key_pem)):
            (folder / name).write_bytes(content)
        self._client = AdminClient(
            {
                "bootstrap.servers": bootstrap,
                "security.protocol": "SSL",
                "ssl.ca.location": str(folder / "ca.crt"),
                "ssl.certificate.location": str(folder / "client.crt"),
                "ssl.key.location": str(folder / "client.key"),
                "ssl.endpoint.identification.algorithm": "https",
                "socket.timeout.ms": 10000,
            }
        )

    def close(self) -> None:
        self._files.cleanup()

    def cluster_id(self) -> str:
        try:
            result = self._client.describe_cluster(request_timeout=TIMEOUT).result(timeout=TIMEOUT)
        except KafkaException as error:
            raise AdminError(f"describe cluster: {error.args[0]}") from error
        return str(result.cluster_id)

    # -- topics ------------------------------------------------------------------------------------------

    def topics(self) -> dict[str, Topic]:
        metadata = self._client.list_topics(timeout=TIMEOUT)
        return {
            name: Topic(name, len(t.partitions), len(next(iter(t.partitions.values())).replicas) if t.partitions else 0)
            for name, t in metadata.topics.items()
            if not name.startswith("__")
        }

    def create_topic(self, name: str, partitions: int, replicas: int, config: Mapping[str, str]) -> str:
        topic = NewTopic(name, num_partitions=partitions, replication_factor=replicas, config=dict(config))
        _wait(self._client.create_topics([topic], request_timeout=TIMEOUT))
        return self.topic_id(name)

    def topic_id(self, name: str) -> str:
        from confluent_kafka import TopicCollection

        described = _wait(self._client.describe_topics(TopicCollection([name]), request_timeout=TIMEOUT))
        return str(described[name].topic_id)

    def dynamic_config(self, name: str) -> dict[str, str]:
        resource = ConfigResource(ResourceType.TOPIC, name)
        entries = _wait(self._client.describe_configs([resource], request_timeout=TIMEOUT))[resource]
        dynamic = ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG if hasattr(ConfigEntry, "ConfigSource") else None
        return {
            key: str(entry.value)
            for key, entry in entries.items()
            if getattr(entry.source, "name", str(entry.source)) == "DYNAMIC_TOPIC_CONFIG" or entry.source == dynamic
        }

    def alter_config(self, name: str, set_: Mapping[str, str], delete: list[str]) -> None:
        entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in set_.items()]
        entries += [ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE) for k in delete]
        if entries:
            resource = ConfigResource(ResourceType.TOPIC, name, incremental_configs=entries)
            _wait(self._client.incremental_alter_configs([resource], request_timeout=TIMEOUT))

    def add_partitions(self, name: str, count: int) -> None:
        _wait(self._client.create_partitions([NewPartitions(name, count)], request_timeout=TIMEOUT))

    def delete_topic(self, name: str) -> None:
        try:
            _wait(self._client.delete_topics([name], request_timeout=TIMEOUT))
        except AdminError as error:
            if "UNKNOWN_TOPIC_OR_PART" not in str(error):
                raise

    # -- SCRAM credentials and ACLs ---------------------------------------------------------------------

    def scram_users(self) -> set[str]:
        described = self._client.describe_user_scram_credentials(request_timeout=TIMEOUT)
        if isinstance(described, dict):  # per-user futures
            return set(_wait(described))
        return set(described.result(timeout=TIMEOUT))

    def set_password(self, user: str, password: str) -> None:
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS)
        upsert = UserScramCredentialUpsertion(user, info, password.encode())
        _wait(self._client.alter_user_scram_credentials([upsert], request_timeout=TIMEOUT))

    def delete_password(self, user: str) -> None:
        deletion = UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)
        try:
            _wait(self._client.alter_user_scram_credentials([deletion], request_timeout=TIMEOUT))
        except AdminError as error:
            if "RESOURCE_NOT_FOUND" not in str(error):
                raise

    def acls(self, principal: str | None = None) -> set[Binding]:
        # None is librdkafka's "any" for the names (its stubs say str).
        query = AclBindingFilter(
            ResourceType.ANY,
            None,  # type: ignore[arg-type]
            ResourcePatternType.ANY,
            principal,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        found = self._client.describe_acls(query, request_timeout=TIMEOUT).result(timeout=TIMEOUT)
        return {_binding(b) for b in found if b.restype in _by_value(_RESOURCES)}

    def create_acls(self, bindings: set[Binding]) -> None:
        if bindings:
            _wait(self._client.create_acls([_kafka(b) for b in sorted(bindings)], request_timeout=TIMEOUT))

    def delete_acls(self, bindings: set[Binding]) -> None:
        if bindings:
            filters = [_kafka(b, AclBindingFilter) for b in sorted(bindings)]
            _wait(self._client.delete_acls(filters, request_timeout=TIMEOUT))


def _by_value(mapping: Mapping[str, Any]) -> dict[Any, str]:
    return {value: key for key, value in mapping.items()}


def _kafka(b: Binding, kind: type = AclBinding) -> Any:
    return kind(
        _RESOURCES[b.resource_type],
        b.resource_name,
        _PATTERNS[b.pattern],
        b.principal,
        b.host,
        _OPERATIONS[b.operation],
        _PERMISSIONS[b.permission],
    )


def _binding(b: Any) -> Binding:
    return Binding(
        _by_value(_RESOURCES)[b.restype],
        b.name,
        _by_value(_PATTERNS).get(b.resource_pattern_type, "literal"),
        b.principal,
        b.host,
        _by_value(_OPERATIONS)[b.operation],
        _by_value(_PERMISSIONS)[b.permission_type],
    )
