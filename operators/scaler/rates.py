"""Produce and consume rates of a consumer group (pure), per partition, from two snapshots of its offsets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eventkit.lag import PartitionLag

Partition = tuple[str, int]


@dataclass(frozen=True)
class Snapshot:
    """Each partition's log end and the group's position at one moment (monotonic seconds)."""

    at: float
    ends: Mapping[Partition, int]
    positions: Mapping[Partition, int]

    @classmethod
    def of(cls, at: float, lags: Sequence[PartitionLag]) -> Snapshot:
        return cls(
            at,
            {(p.topic, p.partition): p.log_end for p in lags},
            {(p.topic, p.partition): p.position for p in lags},
        )


@dataclass(frozen=True)
class Rates:
    seconds: float
    produced: Mapping[Partition, float]  # records/s appended, per partition
    consumed: Mapping[Partition, float]  # records/s the group moved its position (committed offsets), per partition

    @property
    def produce(self) -> float:
        return sum(self.produced.values())

    @property
    def consume(self) -> float:
        return sum(self.consumed.values())


def rates(before: Snapshot | None, after: Snapshot) -> Rates | None:
    """Rates between two snapshots; None without a previous one. Never negative (a recreated topic, a reset
    of the group to an earlier offset); a partition that appeared in between counts from its first sighting."""
    if before is None or after.at <= before.at:
        return None
    elapsed = after.at - before.at
    common = [tp for tp in after.ends if tp in before.ends]
    return Rates(
        seconds=elapsed,
        produced={tp: max(0.0, (after.ends[tp] - before.ends[tp]) / elapsed) for tp in common},
        consumed={tp: max(0.0, (after.positions[tp] - before.positions[tp]) / elapsed) for tp in common},
    )
