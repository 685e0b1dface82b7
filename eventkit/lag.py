"""Consumer-group lag (pure): what a group still has to read, per partition, from Kafka's offsets.

The one implementation: the consumer's lag gauge, `orderflow lag` and the ConsumerScaler operator all turn
offsets into lag here, so they report the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

ResetPolicy = Literal["earliest", "latest"]
LagSource = Literal["committed", "earliest", "latest"]


@dataclass(frozen=True)
class PartitionOffsets:
    """What Kafka says about one partition: its log start and end, and the group's commit (None: none)."""

    topic: str
    partition: int
    log_start: int
    log_end: int
    committed: int | None


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    lag: int
    log_end: int
    position: int  # where the group resumes: its commit, or where offsetResetPolicy puts it
    source: LagSource


def partition_lag(offsets: PartitionOffsets, reset: ResetPolicy) -> PartitionLag:
    """The records the group still has to read in one partition, never negative.

    A partition without a commit, or whose commit points below the log start (retention deleted those
    records), resumes where the consumer's reset policy puts it; `earliest` means the log start offset, so
    data already deleted is never counted (KEDA #7936).
    """
    committed = offsets.committed
    source: LagSource
    if committed is not None and committed >= offsets.log_start:
        position, source = committed, "committed"
    elif reset == "earliest":
        position, source = offsets.log_start, "earliest"
    else:
        position, source = offsets.log_end, "latest"
    # A commit beyond the end (a truncated or recreated topic) is no negative lag.
    lag = max(0, offsets.log_end - position)
    return PartitionLag(offsets.topic, offsets.partition, lag, offsets.log_end, min(position, offsets.log_end), source)


def group_lag(offsets: Iterable[PartitionOffsets], reset: ResetPolicy) -> list[PartitionLag]:
    return sorted((partition_lag(o, reset) for o in offsets), key=lambda p: (p.topic, p.partition))


def total_lag(lags: Iterable[PartitionLag]) -> int:
    return sum(p.lag for p in lags)


def actionable_lag(lags: Iterable[PartitionLag], marker_tolerance: int) -> int:
    """Total lag ignoring partitions at most `marker_tolerance` behind.

    A transactional producer writes a commit marker after its records; a consumer commits the offset after
    the last record, so the marker shows as lag 1 that no consumer can ever read (KEDA #5675). Ignoring such
    tiny per-partition lags lets an idle group look idle.
    """
    return sum(p.lag for p in lags if p.lag > marker_tolerance)
