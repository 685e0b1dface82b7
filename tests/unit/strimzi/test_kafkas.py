"""The Cluster Operator's pure parts (/tmp/research/strimzi.md §1.1, §1.7, §1.8): the KRaft cluster id and the
node ids of the pools (https://strimzi.io/blog/2023/08/23/kafka-node-pools-node-id-management)."""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devstack.strimzi import kafkas


def test_a_cluster_id_is_a_22_character_base64url_uuid() -> None:
    """§1.7: a Kafka cluster id, as `kafka-storage random-uuid` prints it (Uuid.toString)."""
    for _ in range(500):
        cluster_id = kafkas.new_cluster_id()
        assert len(cluster_id) == 22
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
        assert set(cluster_id) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_cluster_id_never_starts_with_a_dash() -> None:
    """Kafka's Uuid.randomUuid() never gives one: `kafka-storage format --cluster-id -…` reads it as an option."""
    ids = [kafkas.new_cluster_id() for _ in range(5000)]  # one in 64 would start with "-"
    assert not [cluster_id for cluster_id in ids if cluster_id.startswith("-")]
    assert len(set(ids)) == len(ids)


def test_an_id_that_would_start_with_a_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    dashed, fine = uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x00" + bytes(14) + b"\x01")
    assert base64.urlsafe_b64encode(dashed.bytes).startswith(b"-")
    draws: Iterator[uuid.UUID] = iter([dashed, dashed, fine])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(draws))  # the module kafkas draws from
    assert kafkas.new_cluster_id() == base64.urlsafe_b64encode(fine.bytes).decode().rstrip("=")


def pool(name: str, replicas: int, ids: list[int] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"metadata": {"name": name}, "spec": {"replicas": replicas, "roles": ["broker"]}}
    if ids is not None:
        found["status"] = {"nodeIds": ids}
    return found


def test_one_new_pool_of_one_is_node_zero() -> None:
    """§1.1: one pool with 1 replica → node id 0."""
    assert kafkas.assign_node_ids([pool("dual-role", 1)]) == {"dual-role": [0]}


def test_new_pools_take_ids_from_zero_upwards_in_name_order() -> None:
    assert kafkas.assign_node_ids([pool("brokers", 3), pool("controllers", 3)]) == {
        "brokers": [0, 1, 2],
        "controllers": [3, 4, 5],
    }


def test_a_pool_keeps_the_ids_in_its_status() -> None:
    assert kafkas.assign_node_ids([pool("a", 2, [4, 7]), pool("b", 1, [0])]) == {"a": [4, 7], "b": [0]}


def test_scaling_up_takes_the_lowest_free_ids() -> None:
    """The blog: the next free id on scale-up."""
    assert kafkas.assign_node_ids([pool("a", 4, [0, 2]), pool("b", 1, [1])]) == {"a": [0, 2, 3, 4], "b": [1]}


def test_scaling_down_removes_the_highest_ids_first() -> None:
    assert kafkas.assign_node_ids([pool("a", 1, [0, 3, 5])]) == {"a": [0]}
    assert kafkas.assign_node_ids([pool("a", 2, [5, 0, 3])]) == {"a": [0, 3]}


def test_ids_a_pool_gives_up_are_not_taken_by_another_in_the_same_pass() -> None:
    """The brokers being removed still run until their pods go: their ids are free only at the next reconcile."""
    assert kafkas.assign_node_ids([pool("a", 1, [0, 1]), pool("b", 2, [2])]) == {"a": [0], "b": [2, 3]}


def test_a_pool_of_zero_has_no_nodes() -> None:
    assert kafkas.assign_node_ids([pool("a", 0, [0, 1]), pool("b", 0)]) == {"a": [], "b": []}
    assert kafkas.assign_node_ids([]) == {}


@st.composite
def clusters(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Pools with disjoint existing ids (as earlier reconciles leave them) and any new replica counts."""
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True, max_size=4))
    free = iter(draw(st.permutations(range(16))))
    found = []
    for name in names:
        existing = draw(st.none() | st.integers(0, 4).map(lambda n: list(itertools.islice(free, n))))
        found.append(pool(name, draw(st.integers(0, 6)), existing))
    return found


def existing(p: dict[str, Any]) -> list[int]:
    ids: list[int] = (p.get("status") or {}).get("nodeIds") or []
    return ids


@given(pools=clusters())
def test_node_id_invariants(pools: list[dict[str, Any]]) -> None:
    found = kafkas.assign_node_ids(pools)
    assigned = [i for ids in found.values() for i in ids]
    before = {i for p in pools for i in existing(p)}
    # Every pool has as many ids as replicas, sorted, and no id is in two pools.
    assert set(found) == {p["metadata"]["name"] for p in pools}
    for p in pools:
        ids = found[p["metadata"]["name"]]
        assert len(ids) == p["spec"]["replicas"]
        assert ids == sorted(ids)
        kept = sorted(existing(p))
        if p["spec"]["replicas"] >= len(kept):
            assert set(kept) <= set(ids)  # a pool that does not shrink keeps its ids
        else:
            assert ids == kept[: p["spec"]["replicas"]]  # scale-down drops the highest
    assert len(assigned) == len(set(assigned))
    # The new ids are the lowest ids nobody had.
    new = sorted(set(assigned) - before)
    lowest_free = (i for i in itertools.count() if i not in before)
    assert new == list(itertools.islice(lowest_free, len(new)))


@given(pools=clusters())
def test_assigning_again_with_the_result_in_the_statuses_changes_nothing(pools: list[dict[str, Any]]) -> None:
    found = kafkas.assign_node_ids(pools)
    again = [pool(p["metadata"]["name"], p["spec"]["replicas"], found[p["metadata"]["name"]]) for p in pools]
    assert kafkas.assign_node_ids(again) == found


@given(pools=clusters())
def test_the_order_the_pools_are_listed_in_does_not_matter(pools: list[dict[str, Any]]) -> None:
    assert kafkas.assign_node_ids(list(reversed(pools))) == kafkas.assign_node_ids(pools)
