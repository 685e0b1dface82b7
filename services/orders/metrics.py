"""Saga outcomes for the dashboards' funnel, counted once the transaction deciding them has committed."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter

from eventkit.envelope import CloudEvent
from eventkit.events import OrderCancelled, OrderConfirmed

SAGA_OUTCOMES = Counter(
    "orderflow_saga_outcomes",
    "Orders decided, by outcome (confirmed, cancelled) and cancel reason",
    ["outcome", "reason"],
)


def count_outcomes(events: Sequence[CloudEvent]) -> None:
    for event in events:
        match event.data:
            case OrderConfirmed():
                SAGA_OUTCOMES.labels("confirmed", "").inc()
            case OrderCancelled(reason=reason):
                SAGA_OUTCOMES.labels("cancelled", reason.value).inc()
