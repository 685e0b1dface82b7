"""The summary of a load run: counts, rates and latency percentiles; pure functions, no I/O."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TERMINAL = frozenset({"CONFIRMED", "CANCELLED"})
PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Outcome:
    """What the load generator saw of one accepted order."""

    status: str  # PENDING, CONFIRMED or CANCELLED (PENDING: no terminal state before the wait timed out)
    latency: float | None = None  # seconds from sending its POST to observing the terminal state
    cancel_reason: str | None = None


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `pct` % of the values at or below it."""
    if not 0 < pct <= 100:
        raise ValueError(f"percentile out of range: {pct}")
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(pct / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


@dataclass(frozen=True)
class LoadSummary:
    requested: int
    accepted: int
    rejected: Mapping[str, int]  # HTTP status (or error class) -> count
    confirmed: int
    cancelled: Mapping[str, int]  # cancel reason -> count
    pending: int
    placement_seconds: float
    total_seconds: float
    latency_ms: Mapping[str, float | None] = field(default_factory=dict)
    post_latency_ms: Mapping[str, float | None] = field(default_factory=dict)  # POST sent to 202 received
    waited: bool = True  # False: a placement-only run, whose outcomes were never asked for
    client_cpu_seconds: float = 0.0  # what the load generator itself spent, so a bench can count it apart
    retried: int = 0  # POST resends (same Idempotency-Key) after a broken connection or a 502-504

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def cancelled_total(self) -> int:
        return sum(self.cancelled.values())

    @property
    def terminal(self) -> int:
        return self.confirmed + self.cancelled_total

    @property
    def orders_per_second(self) -> float:
        """Placement rate: accepted orders over the wall time of placing them."""
        return _rate(self.accepted, self.placement_seconds)

    @property
    def end_to_end_per_second(self) -> float:
        """Orders that reached a terminal state over the whole run, placement to last outcome."""
        return _rate(self.terminal, self.total_seconds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "accepted": self.accepted,
            "rejected": self.rejected_total,
            "rejected_by_status": dict(self.rejected),
            "confirmed": self.confirmed,
            "cancelled": self.cancelled_total,
            "cancelled_by_reason": dict(self.cancelled),
            "pending": self.pending,
            "placement_seconds": round(self.placement_seconds, 3),
            "total_seconds": round(self.total_seconds, 3),
            "orders_per_second": round(self.orders_per_second, 1),
            "end_to_end_per_second": round(self.end_to_end_per_second, 1),
            "latency_ms": _rounded(self.latency_ms),
            "post_latency_ms": _rounded(self.post_latency_ms),
            "waited": self.waited,
            "client_cpu_seconds": round(self.client_cpu_seconds, 3),
            "retried": self.retried,
        }


def _rounded(latencies: Mapping[str, float | None]) -> dict[str, float | None]:
    return {key: None if value is None else round(value, 1) for key, value in latencies.items()}


def summarize(
    *,
    requested: int,
    outcomes: Iterable[Outcome],
    rejected: Mapping[str, int],
    placement_seconds: float,
    total_seconds: float,
    post_latencies: Sequence[float] = (),
    waited: bool = True,
    client_cpu_seconds: float = 0.0,
    retried: int = 0,
) -> LoadSummary:
    """Fold the outcomes of accepted orders and the rejected placements into one summary."""
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    latencies: list[float] = []
    for outcome in outcomes:
        statuses[outcome.status] += 1
        if outcome.status == "CANCELLED":
            reasons[outcome.cancel_reason or "unknown"] += 1
        if outcome.status in TERMINAL and outcome.latency is not None:
            latencies.append(outcome.latency)
    accepted = sum(statuses.values())
    pending = accepted - statuses["CONFIRMED"] - statuses["CANCELLED"]
    latency_ms = latency_summary(latencies)
    return LoadSummary(
        requested=requested,
        accepted=accepted,
        rejected=dict(sorted(rejected.items())),
        confirmed=statuses["CONFIRMED"],
        cancelled=dict(reasons.most_common()),
        pending=pending,
        placement_seconds=placement_seconds,
        total_seconds=total_seconds,
        latency_ms=latency_ms,
        post_latency_ms=latency_summary(post_latencies),
        waited=waited,
        client_cpu_seconds=client_cpu_seconds,
        retried=retried,
    )


def latency_summary(latencies: Sequence[float]) -> dict[str, float | None]:
    """p50, p95, p99 and max in milliseconds of latencies given in seconds (None for each when there are none)."""
    summary = {f"p{pct}": _ms(percentile(latencies, pct)) for pct in PERCENTILES}
    summary["max"] = _ms(max(latencies, default=None))
    return summary


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000
