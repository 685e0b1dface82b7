"""Strimzi's status conditions (operator-common `StatusUtils.java`): a Kafka or KafkaUser is `Ready` True when
reconciled, else `NotReady` True with the reason and message; a KafkaTopic is `Ready` True or `Ready` False with
them. `lastTransitionTime` (ISO-8601, UTC) changes only when the condition does, so an unchanged status is not
rewritten.

Documented in Strimzi's "Deploying and Managing" guide, "Strimzi custom resource status information" (the operator
maintains `status.conditions` and `status.observedGeneration`; `Ready` means it deems the resource usable) and
"Checking the status of a custom resource" (reading `.status` with kubectl); and in the Custom Resource API Reference,
"Condition schema reference" (`type`, `status` True, False or Unknown, a CamelCase `reason`, a `message`, and a
`lastTransitionTime` in UTC that marks the last change of status).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def _now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def condition(
    previous: Mapping[str, Any] | None, kind: str, status: str, reason: str = "", message: str = ""
) -> dict[str, Any]:
    """The condition, keeping the previous one's transition time when type and status did not change."""
    before: dict[str, Any] = next(iter((previous or {}).get("conditions") or []), {})
    same = before.get("type") == kind and before.get("status") == status
    found: dict[str, Any] = {"type": kind, "status": status}
    if reason:
        found["reason"] = reason
    if message:
        found["message"] = message
    found["lastTransitionTime"] = (
        before.get("lastTransitionTime") if same and before.get("lastTransitionTime") else _now()
    )
    if (
        same
        and before.get("lastTransitionTime")
        and (before.get("reason"), before.get("message", "")) == (reason, message)
    ):
        return dict(before)
    return found


def ready(previous: Mapping[str, Any] | None) -> dict[str, Any]:
    return condition(previous, "Ready", "True")


def not_ready(previous: Mapping[str, Any] | None, reason: str, message: str) -> dict[str, Any]:
    """Kafka and KafkaUser."""
    return condition(previous, "NotReady", "True", reason, message)


def topic_failed(previous: Mapping[str, Any] | None, reason: str, message: str) -> dict[str, Any]:
    """KafkaTopic."""
    return condition(previous, "Ready", "False", reason, message)


def is_ready(resource: Mapping[str, Any]) -> bool:
    conditions = (resource.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
