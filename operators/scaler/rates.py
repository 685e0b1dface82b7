"""Produce and consume rates of a consumer group (pure), from two snapshots of its lag."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eventkit.lag import PartitionLag


@dataclass(frozen=True)
class Snapshot:
    """Sums over a group's partitions at one moment (monotonic seconds), for rates between two polls."""

    at: float
    log_end: int
    position: int

    @classmethod
    def of(cls, at: float, lags: Sequence[PartitionLag]) -> Snapshot:
        return cls(at, sum(p.log_end for p in lags), sum(p.position for p in lags))


@dataclass(frozen=True)
class Rates:
    produce: float  # records/s appended to the topics
    consume: float  # records/s the group moved its positions


def rates(before: Snapshot | None, after: Snapshot) -> Rates | None:
    """Rates between two snapshots; None without a previous one. Never negative (a recreated topic, a reset
    of the group to an earlier offset)."""
    if before is None or after.at <= before.at:
        return None
    elapsed = after.at - before.at
    return Rates(
        produce=max(0.0, (after.log_end - before.log_end) / elapsed),
        consume=max(0.0, (after.position - before.position) / elapsed),
    )
