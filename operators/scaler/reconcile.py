"""One poll of one ConsumerScaler: read lag, decide, scale, and say so in status, Events and metrics.

The kopf handlers call `poll` with their dependencies; everything it decides comes from policy.py and lag.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from aiokafka.errors import KafkaError

from eventkit.lag import PartitionLag, group_lag
from eventkit.offsets import LagReadError, OffsetReader, read_offsets
from operators.scaler import metrics
from operators.scaler.builders import Condition, conditions, event, partitions_status, target_label, timestamp
from operators.scaler.capacity import Member
from operators.scaler.clients import ClientPool
from operators.scaler.config import OperatorConfig
from operators.scaler.connection import KafkaConnection, StrimziError, from_strimzi
from operators.scaler.evaluate import Memory, evaluate
from operators.scaler.leader import LeaseElector
from operators.scaler.scaling import KubeApi, TargetNotFound
from operators.scaler.spec import InvalidSpec, ScalerSpec, parse

Status = dict[str, Any]


@dataclass(frozen=True)
class Deps:
    kube: KubeApi
    pool: ClientPool
    leader: LeaseElector
    config: OperatorConfig


@dataclass
class ScalerState:
    """What one scaler remembers between polls, in memory (a new leader starts afresh: `term`)."""

    term: int
    memory: Memory = field(default_factory=Memory)
    failures: int = 0
    next_poll_at: float = 0.0


@dataclass
class _Poll:
    """The scaler being polled and what this poll has to write."""

    body: Mapping[str, Any]
    deps: Deps
    wall: datetime
    status: Status = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    def previous(self, condition: str) -> tuple[str, str] | None:
        found = [c for c in (self.body.get("status") or {}).get("conditions", []) if c.get("type") == condition]
        return (found[0].get("status", ""), found[0].get("reason", "")) if found else None

    def set(self, *updates: Condition, **fields: Any) -> Status:
        old = (self.body.get("status") or {}).get("conditions", [])
        self.status.update(fields, conditions=conditions(old, updates, self.wall))
        return self.status

    async def warn_on_change(self, condition: str, status: str, reason: str, message: str) -> None:
        """A Warning Event when a condition turns bad (or bad for another reason), not on every poll."""
        if self.previous(condition) != (status, reason):
            await self.deps.kube.post_event(event(self.body, "Warning", reason, message, self.wall))


async def resolve_connection(kube: KubeApi, namespace: str, spec: ScalerSpec) -> KafkaConnection:
    if spec.bootstrap_servers is not None:
        return KafkaConnection(spec.bootstrap_servers)
    assert spec.strimzi is not None  # the spec validator demands exactly one of the two
    ref = spec.strimzi
    base = f"/apis/kafka.strimzi.io/v1/namespaces/{namespace}"
    kafka = await kube.get(f"{base}/kafkas/{ref.cluster}")
    if kafka is None:
        raise StrimziError(f"Kafka {namespace}/{ref.cluster} not found")
    user = secret = None
    if ref.kafka_user is not None:
        user = await kube.get(f"{base}/kafkausers/{ref.kafka_user}")
        if user is None:
            raise StrimziError(f"KafkaUser {namespace}/{ref.kafka_user} not found")
        # Strimzi names the user's Secret after the KafkaUser.
        secret = await kube.get(f"/api/v1/namespaces/{namespace}/secrets/{ref.kafka_user}")
    return from_strimzi(kafka, ref.listener, user, secret)


def _backoff(state: ScalerState, interval: float, ceiling: float) -> float:
    return float(min(ceiling, interval * 2**state.failures))


async def poll(body: Mapping[str, Any], state: ScalerState, deps: Deps, now: float, wall: datetime) -> Status:
    """Returns the status patch. Sets `state.next_poll_at`; Kubernetes API errors propagate to kopf."""
    current_poll = _Poll(body, deps, wall)
    current_poll.status["observedGeneration"] = body["metadata"].get("generation")
    try:
        spec = parse(dict(body["spec"]))
    except InvalidSpec as error:
        state.next_poll_at = now + 60
        await current_poll.warn_on_change("Ready", "False", "InvalidSpec", str(error))
        return current_poll.set(Condition("Ready", "False", "InvalidSpec", str(error)[:1000]))
    state.next_poll_at = now + spec.poll_interval_seconds
    status = await _poll_valid(current_poll, spec, state, now)
    ready = next((c for c in status.get("conditions", []) if c["type"] == "Ready"), None)
    metrics.polled(current_poll.namespace, current_poll.name, ready["reason"] if ready else "Unknown")
    return status


async def _poll_valid(p: _Poll, spec: ScalerSpec, state: ScalerState, now: float) -> Status:
    kube, ref = p.deps.kube, spec.scale_target_ref
    p.status["target"] = target_label(ref.model_dump(by_alias=True))
    if spec.paused:
        return p.set(Condition("Ready", "True", "Paused", "spec.paused is set: replicas are left alone"))
    hpa = await kube.competing_hpa(p.namespace, ref)
    if hpa is not None:
        message = f"HorizontalPodAutoscaler {hpa} already scales {ref.kind}/{ref.name}; not scaling"
        await p.warn_on_change("Ready", "False", "HPAConflict", message)
        return p.set(Condition("Ready", "False", "HPAConflict", message))
    try:
        current = await kube.replicas(p.namespace, ref)
    except TargetNotFound as error:
        return p.set(Condition("Ready", "False", "TargetNotFound", str(error)))
    p.status["currentReplicas"] = current
    try:
        connection = await resolve_connection(kube, p.namespace, spec)
        reader = await p.deps.pool.get(connection, owner=(p.namespace, p.name))
        topics, offsets = await read_offsets(
            reader, spec.consumer_group, spec.topics, p.deps.config.kafka_timeout_seconds
        )
    except (LagReadError, StrimziError) as error:
        return await _degraded(p, spec, state, now, current, str(error))
    members = await _members(reader, spec.consumer_group, topics)
    state.failures = 0
    if not topics:
        message = f"group {spec.consumer_group} has no commits and spec.topics is empty: nothing to measure"
        return p.set(
            Condition("Ready", "False", "NoTopics", message),
            Condition("Degraded", "False", "KafkaReachable", "lag read"),
            desiredReplicas=current,
            reason="NoTopics",
            message=message,
        )
    lags = group_lag(offsets, spec.offset_reset_policy)
    return await _decide_and_scale(p, spec, state, now, current, lags, members)


async def _members(reader: OffsetReader, group: str, topics: list[str]) -> list[Member] | None:
    """What each member holds of the measured topics; None when Kafka will not say (the estimate then pools)."""
    try:
        described = await reader.members(group)
    except KafkaError:
        return None
    return [frozenset(tp for tp in member if tp[0] in topics) for member in described]


async def _degraded(p: _Poll, spec: ScalerSpec, state: ScalerState, now: float, current: int, error: str) -> Status:
    """Kafka is unreachable: keep the replicas as they are, say so, and poll less often until it answers."""
    state.failures += 1
    delay = _backoff(state, spec.poll_interval_seconds, p.deps.config.max_backoff_seconds)
    state.next_poll_at = now + delay
    # The rate between the last good poll and the next one would average over the outage.
    state.memory = replace(state.memory, rate=state.memory.rate.forget_snapshot())
    metrics.kafka_error(p.namespace, p.name)
    message = f"{error}; keeping {current} replicas, next attempt in {delay:.0f}s"
    await p.warn_on_change("Degraded", "True", "KafkaUnavailable", message)
    return p.set(
        Condition("Ready", "False", "KafkaUnavailable", message),
        Condition("Degraded", "True", "KafkaUnavailable", message),
        desiredReplicas=current,
        reason="KafkaUnavailable",
        message=message,
    )


async def _decide_and_scale(
    p: _Poll,
    spec: ScalerSpec,
    state: ScalerState,
    now: float,
    current: int,
    lags: list[PartitionLag],
    members: list[Member] | None,
) -> Status:
    tolerance = spec.transaction_marker_tolerance
    result, state.memory = evaluate(spec.policy(), tolerance, lags, current, state.memory, now, members)
    decision = result.decision
    metrics.observe(p.namespace, p.name, lags, result.produce_rate, result.consume_rate)
    metrics.decided(p.namespace, p.name, decision.reason, current, decision.desired)
    if decision.desired != current:
        await _scale(p, spec, current, decision.desired, f"{decision.reason}: {decision.message}")
    activity: Literal["True", "False"] = "True" if decision.desired > 0 else "False"
    return p.set(
        Condition("Ready", "True", "Polled", "lag read and decision applied"),
        Condition("Active", activity, decision.reason, decision.message),
        Condition("Degraded", "False", "KafkaReachable", "lag read"),
        lag=sum(x.lag for x in lags),
        partitions=partitions_status(lags),
        produceRate=round(result.produce_rate, 3),
        consumeRate=round(result.consume_rate, 3),
        perReplicaRate=round(result.per_replica_rate or 0.0, 3),
        currentReplicas=decision.desired,
        desiredReplicas=decision.desired,
        reason=decision.reason,
        message=decision.message,
        lastPollTime=timestamp(p.wall),
    )


async def _scale(p: _Poll, spec: ScalerSpec, current: int, desired: int, why: str) -> None:
    # Re-checked right before acting: the lease may have lapsed while Kafka was being read.
    if not p.deps.leader.is_leader:
        raise LeadershipLost
    ref = spec.scale_target_ref
    await p.deps.kube.scale(p.namespace, ref, desired)
    message = f"scaled {ref.kind}/{ref.name} from {current} to {desired} ({why})"
    await p.deps.kube.post_event(event(p.body, "Normal", "Scaled", message, p.wall))
    p.status["lastScaleTime"] = timestamp(p.wall)


class LeadershipLost(RuntimeError):
    """This replica lost the lease during a poll; the new leader decides."""
