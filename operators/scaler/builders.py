"""Kubernetes objects and patches the operator writes, as pure functions of what it decided."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from eventkit.lag import PartitionLag

COMPONENT = "orderflow-scaler"
ConditionStatus = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class Condition:
    type: str
    status: ConditionStatus
    reason: str
    message: str


def timestamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def conditions(
    previous: Sequence[Mapping[str, Any]], updates: Sequence[Condition], now: datetime
) -> list[dict[str, Any]]:
    """Merge by type; lastTransitionTime moves only when a condition's status changes."""
    merged = {c["type"]: dict(c) for c in previous}
    for update in updates:
        old = merged.get(update.type)
        changed = old is None or old.get("status") != update.status
        merged[update.type] = {
            "type": update.type,
            "status": update.status,
            "reason": update.reason,
            "message": update.message,
            "lastTransitionTime": timestamp(now) if changed or old is None else old.get("lastTransitionTime"),
        }
    order = ["Ready", "Active", "Degraded"]
    return sorted(merged.values(), key=lambda c: order.index(c["type"]) if c["type"] in order else len(order))


def partitions_status(lags: Sequence[PartitionLag]) -> list[dict[str, Any]]:
    return [
        {
            "topic": p.topic,
            "partition": p.partition,
            "lag": p.lag,
            "logEndOffset": p.log_end,
            "position": p.position,
            "source": p.source,
        }
        for p in lags
    ]


def target_label(ref: Mapping[str, Any]) -> str:
    return f"{ref['kind']}/{ref['name']}"


def event(
    involved: Mapping[str, Any], kind: Literal["Normal", "Warning"], reason: str, message: str, now: datetime
) -> dict[str, Any]:
    """A core/v1 Event about a ConsumerScaler (`involved` is its body), as `kubectl describe` lists them."""
    meta = involved["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
        },
        "type": kind,
        "reason": reason,
        "message": message[:1024],
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": COMPONENT,
        "firstTimestamp": timestamp(now),
        "lastTimestamp": timestamp(now),
        "count": 1,
    }


def scale_patch(replicas: int) -> dict[str, Any]:
    return {"spec": {"replicas": replicas}}
