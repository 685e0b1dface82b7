"""One poll with fakes for Kubernetes and Kafka: back-off, refusals, invalid specs, a lapsed lease."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from eventkit.lag import PartitionOffsets
from eventkit.offsets import LagReadError
from operators.scaler.clients import ClientPool
from operators.scaler.config import OperatorConfig
from operators.scaler.connection import KafkaConnection
from operators.scaler.leader import LeaseElector
from operators.scaler.reconcile import Deps, LeadershipLost, ScalerState, poll
from operators.scaler.scaling import KubeApi
from operators.scaler.spec import ScaleTargetRef

WALL = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class FakeKube:
    replicas_now: int = 1
    hpa: str | None = None
    scaled: list[int] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    async def competing_hpa(self, namespace: str, ref: ScaleTargetRef) -> str | None:
        return self.hpa

    async def replicas(self, namespace: str, ref: ScaleTargetRef) -> int:
        return self.replicas_now

    async def scale(self, namespace: str, ref: ScaleTargetRef, replicas: int) -> None:
        self.scaled.append(replicas)
        self.replicas_now = replicas

    async def post_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)


@dataclass
class FakeReader:
    offsets_now: list[PartitionOffsets] = field(default_factory=list)
    down: bool = False

    async def committed_topics(self, group: str) -> list[str]:
        return sorted({o.topic for o in self.offsets_now if o.committed is not None})

    async def offsets(self, group: str, topics: Sequence[str]) -> list[PartitionOffsets]:
        if self.down:
            raise LagReadError("Kafka did not answer within 3s")
        return [o for o in self.offsets_now if o.topic in topics]

    async def members(self, group: str) -> list[frozenset[tuple[str, int]]]:
        return [frozenset((o.topic, o.partition) for o in self.offsets_now)]


@dataclass
class FakePool:
    reader: FakeReader

    async def get(self, connection: KafkaConnection, owner: object = None) -> FakeReader:
        return self.reader


@dataclass
class FakeLeader:
    is_leader: bool = True
    term: int = 1


def deps(kube: FakeKube, reader: FakeReader, leader: FakeLeader | None = None) -> Deps:
    config = OperatorConfig(max_backoff_seconds=40, metrics_port=0)
    return Deps(
        cast(KubeApi, kube), cast(ClientPool, FakePool(reader)), cast(LeaseElector, leader or FakeLeader()), config
    )


def body(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "orderflow.io/v1alpha1",
        "kind": "ConsumerScaler",
        "metadata": {"name": "s", "namespace": "ns", "uid": "u", "generation": 3},
        "spec": {
            "scaleTargetRef": {"name": "consumer"},
            "bootstrapServers": "k:9092",
            "consumerGroup": "g",
            "topics": ["t"],
            "pollIntervalSeconds": 10,
            **spec,
        },
        "status": status or {},
    }


def backlog(per_partition: int, partitions: int = 4) -> list[PartitionOffsets]:
    return [PartitionOffsets("t", p, 0, per_partition, 0) for p in range(partitions)]


async def test_a_backlog_scales_up_and_reports_why() -> None:
    kube, state = FakeKube(), ScalerState(term=1)
    status = await poll(body(), state, deps(kube, FakeReader(backlog(250))), now=0.0, wall=WALL)
    assert kube.scaled == [4]  # ceil(1000 / 100) capped at 4 partitions
    assert (status["desiredReplicas"], status["reason"], status["observedGeneration"]) == (4, "CappedAtPartitions", 3)
    assert [e["reason"] for e in kube.events] == ["Scaled"]
    assert state.next_poll_at == 10.0


async def test_kafka_errors_keep_replicas_and_back_off_exponentially_with_one_warning() -> None:
    kube, reader, state = FakeKube(replicas_now=3), FakeReader(backlog(250), down=True), ScalerState(term=1)
    status: dict[str, Any] = {}
    delays = []
    for now in (0.0, 100.0, 200.0, 300.0, 400.0):
        status = await poll(body(status), state, deps(kube, reader), now=now, wall=WALL)
        delays.append(state.next_poll_at - now)
    assert delays == [20.0, 40.0, 40.0, 40.0, 40.0]  # 10 s x 2^failures, capped at max_backoff_seconds
    assert kube.scaled == []
    assert status["desiredReplicas"] == 3
    assert [e["reason"] for e in kube.events] == ["KafkaUnavailable"]
    assert {c["type"]: c["status"] for c in status["conditions"]}["Degraded"] == "True"

    reader.down = False
    status = await poll(body(status), state, deps(kube, reader), now=500.0, wall=WALL)
    assert {c["type"]: c["status"] for c in status["conditions"]}["Degraded"] == "False"
    assert state.next_poll_at == 510.0


async def test_an_hpa_on_the_target_is_refused_once_with_a_warning() -> None:
    kube, state = FakeKube(hpa="cpu"), ScalerState(term=1)
    first = await poll(body(), state, deps(kube, FakeReader(backlog(250))), now=0.0, wall=WALL)
    await poll(body(first), state, deps(kube, FakeReader(backlog(250))), now=10.0, wall=WALL)
    assert kube.scaled == []
    assert [e["reason"] for e in kube.events] == ["HPAConflict"]
    assert first["conditions"][0]["reason"] == "HPAConflict"


async def test_an_invalid_spec_is_reported_and_retried_slowly() -> None:
    kube, state = FakeKube(), ScalerState(term=1)
    status = await poll(body(minReplicas=5, maxReplicas=2), state, deps(kube, FakeReader()), now=0.0, wall=WALL)
    assert status["conditions"][0]["reason"] == "InvalidSpec"
    assert "minReplicas must not exceed maxReplicas" in status["conditions"][0]["message"]
    assert state.next_poll_at == 60.0


async def test_no_topics_and_no_commits_hold_the_replicas() -> None:
    kube, state = FakeKube(replicas_now=2), ScalerState(term=1)
    reader = FakeReader([PartitionOffsets("other", 0, 0, 500, None)])
    status = await poll(body(topics=[]), state, deps(kube, reader), now=0.0, wall=WALL)
    assert kube.scaled == []
    assert status["reason"] == "NoTopics"


async def test_a_lapsed_lease_stops_the_scale_call() -> None:
    kube, state = FakeKube(), ScalerState(term=1)
    with pytest.raises(LeadershipLost):
        await poll(body(), state, deps(kube, FakeReader(backlog(250)), FakeLeader(is_leader=False)), 0.0, WALL)
    assert kube.scaled == []


class CountingReader:
    """An OffsetReader stand-in that only records whether it is open."""

    def __init__(self, options: object, timeout: float) -> None:
        self.open = False

    async def start(self) -> None:
        self.open = True

    async def close(self) -> None:
        self.open = False


async def test_rotated_credentials_close_the_old_client_once_no_scaler_uses_it() -> None:
    pool = ClientPool(factory=CountingReader)  # type: ignore[arg-type]
    old, new = KafkaConnection("k:9092", password="old"), KafkaConnection("k:9092", password="new")
    first = cast(CountingReader, await pool.get(old, owner=("ns", "a")))
    await pool.get(old, owner=("ns", "b"))
    await pool.get(new, owner=("ns", "a"))  # a's KafkaUser password rotated
    assert first.open, "b still uses the old credentials"
    await pool.get(new, owner=("ns", "b"))
    assert not first.open
    assert len(pool) == 1
    await pool.release(("ns", "a"))
    assert len(pool) == 1  # b still uses it
    await pool.release(("ns", "b"))
    assert len(pool) == 0
