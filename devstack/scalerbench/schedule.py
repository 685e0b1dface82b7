"""From a trace to whole records per partition (pure): how the bench's feed sends it ten times a second and the
simulation lets it arrive once a second, so both land the same records on the same partitions."""

from __future__ import annotations

import math
from dataclasses import dataclass

from devstack.scalerbench.traces import PARTITIONS, Trace


def shares(trace: Trace, partitions: int = PARTITIONS) -> list[float]:
    """Each partition's share of the inflow."""
    rest = (1.0 - trace.hot_share) / partitions
    return [rest + (trace.hot_share if p == 0 else 0.0) for p in range(partitions)]


@dataclass
class Schedule:
    """Whole records per partition per tick, carrying fractions over, so a long run sends exactly its integral."""

    trace: Trace
    rate: float  # records/s of one pod
    partitions: int = PARTITIONS
    ticks_per_second: int = 10

    def __post_init__(self) -> None:
        self._carry = [0.0] * self.partitions
        self._shares = shares(self.trace, self.partitions)

    def due(self, tick: int) -> list[int]:
        """Records for each partition in tick `tick` (of `ticks_per_second` per second); a tick before the trace
        starts (a pre-roll) gets its first second's inflow."""
        per_tick = self.trace.inflow(max(0, tick) / self.ticks_per_second) * self.rate / self.ticks_per_second
        counts = []
        for p, share in enumerate(self._shares):
            self._carry[p] += per_tick * share
            whole = math.floor(self._carry[p] + 1e-9)
            self._carry[p] -= whole
            counts.append(whole)
        return counts
