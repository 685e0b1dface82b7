"""The Topic Operator's pure decisions (/tmp/research/strimzi.md §2, BatchingTopicController,
TopicOperatorUtil): the topic's name, the configuration changes, what Strimzi refuses to do."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devstack.strimzi import topics


def test_the_topic_is_spec_topic_name_when_given() -> None:
    """§2: `spec.topicName` if set, else `metadata.name` (TopicOperatorUtil.topicName)."""
    resource = {"metadata": {"name": "orderflow-kafka-orders-dlq"}, "spec": {"topicName": "orders.dlq"}}
    assert topics.topic_name(resource) == "orders.dlq"


@pytest.mark.parametrize("spec", [None, {}, {"partitions": 3}, {"topicName": None}])
def test_the_topic_is_the_resource_name_otherwise(spec: dict[str, Any] | None) -> None:
    assert topics.topic_name({"metadata": {"name": "orders"}, "spec": spec}) == "orders"
    assert topics.topic_name({"metadata": {"name": "orders"}}) == "orders"


def test_the_finalizer_is_strimzis() -> None:
    assert topics.FINALIZER == "strimzi.io/topic-operator"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (604800000, "604800000"),
        (-1, "-1"),
        (0.5, "0.5"),
        ("compact", "compact"),
        (["compact", "delete"], "compact,delete"),
        (["a"], "a"),
        ([], ""),
    ],
)
def test_a_config_value_is_kafkas_string_for_it(value: Any, expected: str) -> None:
    """TopicOperatorUtil.configValueAsString: booleans and numbers as Java prints them, lists joined with commas."""
    assert topics.config_value(value) == expected


def test_keys_that_differ_are_set_and_dynamic_keys_not_in_spec_are_deleted() -> None:
    """§2: SET for keys whose value differs, DELETE for dynamic topic configs not in spec.config."""
    want = {"retention.ms": 604800000, "min.insync.replicas": 2, "cleanup.policy": "delete"}
    dynamic = {"retention.ms": "86400000", "min.insync.replicas": "2", "segment.bytes": "1048576", "flush.ms": "10"}
    assert topics.config_changes(want, dynamic) == (
        {"retention.ms": "604800000", "cleanup.policy": "delete"},
        ["flush.ms", "segment.bytes"],
    )


def test_a_topic_already_as_declared_needs_no_change() -> None:
    want = {"retention.ms": 604800000, "unclean.leader.election.enable": False, "cleanup.policy": ["compact", "delete"]}
    dynamic = {
        "retention.ms": "604800000",
        "unclean.leader.election.enable": "false",
        "cleanup.policy": "compact,delete",
    }
    assert topics.config_changes(want, dynamic) == ({}, [])


def test_an_empty_spec_config_deletes_every_dynamic_setting() -> None:
    assert topics.config_changes({}, {"b": "1", "a": "2"}) == ({}, ["a", "b"])


config_keys = st.sampled_from(["retention.ms", "cleanup.policy", "min.insync.replicas", "segment.ms", "flush.ms"])
spec_values = st.one_of(
    st.booleans(),
    st.integers(-1, 10**12),
    st.sampled_from(["compact", "delete", "producer"]),
    st.lists(st.sampled_from(["compact", "delete"]), min_size=1, max_size=2),
)
kafka_values = st.one_of(
    st.sampled_from(["true", "false", "compact", "delete", "compact,delete"]), st.integers().map(str)
)


@given(want=st.dictionaries(config_keys, spec_values), dynamic=st.dictionaries(config_keys, kafka_values))
def test_applying_the_changes_gives_exactly_the_declared_configuration(
    want: dict[str, Any], dynamic: dict[str, str]
) -> None:
    to_set, to_delete = topics.config_changes(want, dynamic)
    applied = {key: value for key, value in dynamic.items() if key not in to_delete} | to_set
    assert applied == {key: topics.config_value(value) for key, value in want.items()}
    assert topics.config_changes(want, applied) == ({}, [])


@given(want=st.dictionaries(config_keys, spec_values), dynamic=st.dictionaries(config_keys, kafka_values))
def test_nothing_already_right_is_set_and_nothing_declared_is_deleted(
    want: dict[str, Any], dynamic: dict[str, str]
) -> None:
    to_set, to_delete = topics.config_changes(want, dynamic)
    assert all(dynamic.get(key) != value for key, value in to_set.items())
    assert not set(to_delete) & set(want)
    assert set(to_delete) <= set(dynamic)
    assert to_delete == sorted(to_delete)


def test_growing_partitions_or_keeping_everything_is_supported() -> None:
    assert topics.unsupported({"partitions": 6, "replicas": 3}, partitions=3, replicas=3) is None
    assert topics.unsupported({"partitions": 3, "replicas": 3}, partitions=3, replicas=3) is None
    assert topics.unsupported({}, partitions=3, replicas=3) is None
    assert topics.unsupported({"partitions": None, "replicas": None}, partitions=3, replicas=3) is None


def test_shrinking_partitions_is_not_supported() -> None:
    """§2: reason NotSupported, message "Decreasing partitions not supported"."""
    assert topics.unsupported({"partitions": 2}, partitions=3, replicas=1) == "Decreasing partitions not supported"


def test_changing_the_replication_factor_is_not_supported_without_cruise_control() -> None:
    """§2: "Replication factor change not supported, but required for partitions [..]" (a Java list)."""
    assert topics.unsupported({"replicas": 3}, partitions=3, replicas=1) == (
        "Replication factor change not supported, but required for partitions [0, 1, 2]"
    )


def test_shrinking_partitions_is_reported_before_a_replication_change() -> None:
    assert topics.unsupported({"partitions": 1, "replicas": 3}, partitions=3, replicas=1) == (
        "Decreasing partitions not supported"
    )


@given(wanted=st.integers(1, 100), existing=st.integers(1, 100), replicas=st.integers(1, 5))
def test_partitions_are_refused_exactly_when_they_would_shrink(wanted: int, existing: int, replicas: int) -> None:
    found = topics.unsupported({"partitions": wanted, "replicas": replicas}, existing, replicas)
    assert (found is not None) == (wanted < existing)
