"""A KafkaUser's ACLs as Kafka bindings, and the changes that make Kafka's set the declared one
(/tmp/research/strimzi.md §3, SimpleAclRule/SimpleAclRuleResource)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from devstack.strimzi import acls
from devstack.strimzi.acls import Binding

USER = "orderflow-orders"
PRINCIPAL = "User:orderflow-orders"


def test_a_scram_users_principal_is_user_and_its_name() -> None:
    assert acls.principal(USER) == PRINCIPAL


def test_each_operation_of_an_entry_is_one_binding_with_strimzis_defaults() -> None:
    """One AclBinding per entry in `operations`; host `*`, type `allow`, pattern `literal` by default."""
    entry = {"resource": {"type": "topic", "name": "orders"}, "operations": ["Read", "Describe"]}
    assert acls.desired(USER, [entry]) == {
        Binding("topic", "orders", "literal", PRINCIPAL, "*", "Read", "allow"),
        Binding("topic", "orders", "literal", PRINCIPAL, "*", "Describe", "allow"),
    }


def test_an_entry_may_say_prefix_host_and_deny() -> None:
    entry = {
        "resource": {"type": "group", "name": "orderflow-", "patternType": "prefix"},
        "operations": ["Read"],
        "host": "10.0.0.1",
        "type": "deny",
    }
    assert acls.desired(USER, [entry]) == {
        Binding("group", "orderflow-", "prefix", PRINCIPAL, "10.0.0.1", "Read", "deny")
    }


def test_a_cluster_resource_is_always_named_kafka_cluster() -> None:
    entries = [
        {"resource": {"type": "cluster"}, "operations": ["IdempotentWrite"]},
        {"resource": {"type": "cluster", "name": "ignored"}, "operations": ["Describe"]},
    ]
    assert {b.resource_name for b in acls.desired(USER, entries)} == {"kafka-cluster"}
    assert {b.pattern for b in acls.desired(USER, entries)} == {"literal"}


def test_a_transactional_id_keeps_its_resource_type() -> None:
    entry = {"resource": {"type": "transactionalId", "name": "orders-tx"}, "operations": ["Write", "Describe"]}
    assert {b.resource_type for b in acls.desired(USER, [entry])} == {"transactionalId"}


def test_the_chart_users_least_privilege_acls_map_one_to_one() -> None:
    entries = [
        {
            "resource": {"type": "topic", "name": "orders", "patternType": "literal"},
            "operations": ["Write", "Describe"],
        },
        {"resource": {"type": "topic", "name": "inventory"}, "operations": ["Read", "Describe"]},
        {"resource": {"type": "group", "name": "orders"}, "operations": ["Read"]},
        {"resource": {"type": "cluster"}, "operations": ["IdempotentWrite"]},
    ]
    found = acls.desired(USER, entries)
    assert len(found) == 6
    assert {b.principal for b in found} == {PRINCIPAL}
    assert {(b.resource_type, b.resource_name, b.operation) for b in found} == {
        ("topic", "orders", "Write"),
        ("topic", "orders", "Describe"),
        ("topic", "inventory", "Read"),
        ("topic", "inventory", "Describe"),
        ("group", "orders", "Read"),
        ("cluster", "kafka-cluster", "IdempotentWrite"),
    }


def test_an_entry_without_operations_grants_nothing_and_no_entries_mean_no_bindings() -> None:
    assert acls.desired(USER, [{"resource": {"type": "topic", "name": "t"}, "operations": []}]) == set()
    assert acls.desired(USER, []) == set()


def test_the_same_acl_declared_twice_is_one_binding() -> None:
    entry = {"resource": {"type": "topic", "name": "t"}, "operations": ["Read", "Read"]}
    assert len(acls.desired(USER, [entry, entry])) == 1


def test_bindings_sort_so_that_kafka_gets_them_in_a_stable_order() -> None:
    a = Binding("group", "g", "literal", PRINCIPAL, "*", "Read", "allow")
    b = Binding("topic", "t", "literal", PRINCIPAL, "*", "Read", "allow")
    assert sorted({b, a}) == [a, b]


bindings = st.builds(
    Binding,
    st.sampled_from(["topic", "group", "cluster", "transactionalId"]),
    st.sampled_from(["orders", "inventory", "kafka-cluster", "*"]),
    st.sampled_from(["literal", "prefix"]),
    st.sampled_from([PRINCIPAL, "User:other"]),
    st.sampled_from(["*", "10.0.0.1"]),
    st.sampled_from(["Read", "Write", "Describe", "All"]),
    st.sampled_from(["allow", "deny"]),
)
binding_sets = st.sets(bindings, max_size=12)


@given(want=binding_sets, have=binding_sets)
def test_the_changes_make_kafkas_set_exactly_the_declared_one(want: set[Binding], have: set[Binding]) -> None:
    to_create, to_delete = acls.changes(want, have)
    assert (have - to_delete) | to_create == want
    assert to_create <= want
    assert not to_create & have  # never recreates what exists
    assert to_delete <= have
    assert not to_delete & want  # never deletes what is declared


@given(want=binding_sets, have=binding_sets)
def test_once_applied_there_is_nothing_more_to_change(want: set[Binding], have: set[Binding]) -> None:
    to_create, to_delete = acls.changes(want, have)
    assert acls.changes(want, (have - to_delete) | to_create) == (set(), set())


@given(want=binding_sets)
def test_an_empty_kafka_gets_everything_and_an_undeclared_user_loses_everything(want: set[Binding]) -> None:
    assert acls.changes(want, set()) == (want, set())
    assert acls.changes(set(), want) == (set(), want)


entries = st.fixed_dictionaries(
    {
        "resource": st.fixed_dictionaries(
            {"type": st.sampled_from(["topic", "group", "transactionalId"]), "name": st.sampled_from(["a", "b"])},
            optional={"patternType": st.sampled_from(["literal", "prefix"])},
        ),
        "operations": st.lists(st.sampled_from(["Read", "Write", "Describe", "Alter"]), max_size=4),
    },
    optional={"host": st.just("10.0.0.1"), "type": st.sampled_from(["allow", "deny"])},
)


@given(declared=st.lists(entries, max_size=5))
def test_every_binding_comes_from_one_declared_operation_and_every_operation_has_one(
    declared: list[dict[str, Any]],
) -> None:
    found = acls.desired(USER, declared)
    expected = {
        (
            e["resource"]["type"],
            e["resource"]["name"],
            e["resource"].get("patternType", "literal"),
            e.get("host", "*"),
            op,
            e.get("type", "allow"),
        )
        for e in declared
        for op in e["operations"]
    }
    assert {(b.resource_type, b.resource_name, b.pattern, b.host, b.operation, b.permission) for b in found} == expected
    assert {b.principal for b in found} <= {PRINCIPAL}
