"""Prometheus metrics of the scaler, in a registry of its own (served on the operator's metrics port)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge

from eventkit.lag import PartitionLag

REGISTRY = CollectorRegistry()
_SCALER = ["namespace", "name"]

LAG = Gauge("orderflow_scaler_lag", "Total consumer group lag (records)", _SCALER, registry=REGISTRY)
PARTITION_LAG = Gauge(
    "orderflow_scaler_partition_lag", "Lag per partition (records)", [*_SCALER, "topic", "partition"], registry=REGISTRY
)
PRODUCE_RATE = Gauge("orderflow_scaler_produce_rate", "Records/s produced to the topics", _SCALER, registry=REGISTRY)
CONSUME_RATE = Gauge("orderflow_scaler_consume_rate", "Records/s the group consumes", _SCALER, registry=REGISTRY)
CURRENT = Gauge("orderflow_scaler_current_replicas", "Replicas of the target", _SCALER, registry=REGISTRY)
DESIRED = Gauge("orderflow_scaler_desired_replicas", "Replicas the policy decided", _SCALER, registry=REGISTRY)
DECISIONS = Counter("orderflow_scaler_decisions", "Decisions by reason", [*_SCALER, "reason"], registry=REGISTRY)
SCALES = Counter("orderflow_scaler_scale_events", "Scale operations", [*_SCALER, "direction"], registry=REGISTRY)
POLLS = Counter(
    "orderflow_scaler_polls",
    "Polls of a scaler, by the reason of its Ready condition",
    [*_SCALER, "reason"],
    registry=REGISTRY,
)
KAFKA_ERRORS = Counter("orderflow_scaler_kafka_errors", "Failed lag reads", _SCALER, registry=REGISTRY)
LEADER = Gauge("orderflow_scaler_leader", "1 while this replica holds the lease", registry=REGISTRY)


_M = TypeVar("_M", Gauge, Counter)

# Label values seen per scaler, so a deleted scaler's series can all be removed.
_SEEN: dict[tuple[str, str], set[tuple[Gauge | Counter, tuple[str, ...]]]] = {}


def _child(metric: _M, *labels: str) -> _M:
    _SEEN.setdefault((labels[0], labels[1]), set()).add((metric, labels))
    return metric.labels(*labels)


def observe(namespace: str, name: str, lags: Sequence[PartitionLag], produce: float, consume: float) -> None:
    _child(LAG, namespace, name).set(sum(p.lag for p in lags))
    for p in lags:
        _child(PARTITION_LAG, namespace, name, p.topic, str(p.partition)).set(p.lag)
    _child(PRODUCE_RATE, namespace, name).set(produce)
    _child(CONSUME_RATE, namespace, name).set(consume)
    # Counters at 0 from the first poll: increase() of a scale or an error that never happened reads 0, not "no data".
    for direction in ("up", "down"):
        _child(SCALES, namespace, name, direction)
    _child(KAFKA_ERRORS, namespace, name)


def decided(namespace: str, name: str, reason: str, current: int, desired: int) -> None:
    _child(DECISIONS, namespace, name, reason).inc()
    _child(CURRENT, namespace, name).set(current)
    _child(DESIRED, namespace, name).set(desired)
    if desired != current:
        _child(SCALES, namespace, name, "up" if desired > current else "down").inc()


def polled(namespace: str, name: str, reason: str) -> None:
    _child(POLLS, namespace, name, reason).inc()


def kafka_error(namespace: str, name: str) -> None:
    _child(KAFKA_ERRORS, namespace, name).inc()


def forget(namespace: str, name: str) -> None:
    """Drop a deleted scaler's series, so dashboards do not show it frozen at its last value."""
    for metric, labels in _SEEN.pop((namespace, name), set()):
        metric.remove(*labels)
