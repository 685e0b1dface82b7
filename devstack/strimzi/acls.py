"""A KafkaUser's `authorization.acls` as Kafka ACL bindings, the way Strimzi's User Operator maps them
(user-operator `SimpleAclRule.java`, `SimpleAclRuleResource.java`): one binding per operation of each entry,
principal `User:<name>` for a SCRAM user, host `*`, type `allow` and pattern `literal` unless the entry says
otherwise, a `cluster` resource always named `kafka-cluster`. The User Operator reconciles a user's whole set:
bindings Kafka has that the KafkaUser does not declare are removed.

Documented in Strimzi's "Deploying and Managing" guide, "Defining ACL rules" (with `simple` authorization, a user
gets only what its KafkaUser's `acls` allow) and "Using the User Operator to manage Kafka users" (a KafkaUser
created, changed or deleted is reflected in Kafka); and in the Custom Resource API Reference, "AclRule schema
reference" (resource types `topic`, `group`, `cluster` and `transactionalId`, a `cluster` resource having no name;
`patternType` `literal` or `prefix`, `*` meaning every resource with `literal`; `operations` per rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CLUSTER_RESOURCE = "kafka-cluster"


@dataclass(frozen=True, order=True)
class Binding:
    """One ACL, in the words of the KafkaUser CRD (lower-case types, Kafka's operation names)."""

    resource_type: str  # topic | group | cluster | transactionalId
    resource_name: str
    pattern: str  # literal | prefix
    principal: str
    host: str
    operation: str  # Read, Write, Create, Delete, Alter, Describe, ClusterAction, AlterConfigs, ...
    permission: str  # allow | deny


def principal(user: str) -> str:
    return f"User:{user}"


def desired(user: str, acls: Iterable[Mapping[str, Any]]) -> set[Binding]:
    found = set()
    for entry in acls:
        resource = entry["resource"]
        kind = resource["type"]
        name = CLUSTER_RESOURCE if kind == "cluster" else resource.get("name", "*")
        pattern = resource.get("patternType", "literal")
        for operation in entry.get("operations", []):
            found.add(
                Binding(
                    kind, name, pattern, principal(user), entry.get("host", "*"), operation, entry.get("type", "allow")
                )
            )
    return found


def changes(want: set[Binding], have: set[Binding]) -> tuple[set[Binding], set[Binding]]:
    """(to create, to delete)."""
    return want - have, have - want
