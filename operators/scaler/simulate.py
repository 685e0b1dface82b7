"""A one-second-step simulation of a consumer group under an autoscaler (pure, deterministic).

The world: `partitions` partitions, replicas that each consume `capacity` records/s once started (new ones
need `startup_seconds`), at most one consumer per partition, and a consumer-group rebalance pause after every
change of membership. Stuck partitions end with a transaction marker: visible lag 1 that nobody can consume.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from eventkit.lag import PartitionLag


@dataclass(frozen=True)
class World:
    partitions: int = 12
    capacity: float = 100.0  # records/s per replica
    startup_seconds: int = 20
    rebalance_seconds: int = 3
    initial_replicas: int = 1


@dataclass(frozen=True)
class Trace:
    name: str
    description: str
    seconds: int
    inflow: Callable[[int], float]  # records/s during second t
    load_ends: int  # the second from which inflow stays at its final level: "time to drain" counts from here
    stuck_partitions: int = 0


class Autoscaler(Protocol):
    name: str

    def step(self, t: int, lags: Sequence[PartitionLag], replicas: int) -> int | None:
        """Called every second with what Kafka shows; the replica count to set, or None to leave it."""
        ...


@dataclass(frozen=True)
class Result:
    trace: str
    scaler: str
    time_to_drain: int | None  # seconds after load_ends until the backlog first reaches 0; None: never
    peak_lag: int
    replica_seconds: int
    scale_events: int


def partition_lags(backlog: int, log_end: int, partitions: int, stuck: int) -> list[PartitionLag]:
    """The backlog spread evenly over the partitions, plus a marker on each stuck one."""
    lags = []
    for p in range(partitions):
        lag = backlog // partitions + (1 if p < backlog % partitions else 0) + (1 if p < stuck else 0)
        end = log_end // partitions + (1 if p < log_end % partitions else 0) + (1 if p < stuck else 0)
        lags.append(PartitionLag("sim", p, lag, end, end - lag, "committed"))
    return lags


def run(trace: Trace, scaler: Autoscaler, world: World) -> Result:
    backlog = log_end = replica_seconds = events = peak = 0
    carry = 0.0
    ready_at = [0] * world.initial_replicas  # second at which each replica starts consuming
    paused_until = 0
    drained_at: int | None = None
    for t in range(trace.seconds):
        carry += trace.inflow(t)
        arrivals = math.floor(carry)
        carry -= arrivals
        log_end += arrivals
        # The scaler sees this second's records before they are consumed and committed: a group that keeps
        # up still shows the records in flight, as committed offsets do between commits.
        lags = partition_lags(backlog + arrivals, log_end, world.partitions, trace.stuck_partitions)
        wanted = scaler.step(t, lags, len(ready_at))
        if wanted is not None and wanted != len(ready_at):
            events += 1
            # Scale-down removes the youngest pods first, as a ReplicaSet prefers not-yet-ready ones.
            ready_at = sorted(ready_at)[:wanted] + [t + world.startup_seconds] * max(0, wanted - len(ready_at))
            paused_until = t + world.rebalance_seconds
        consumers = min(sum(1 for r in ready_at if r <= t), world.partitions) if t >= paused_until else 0
        consumed = min(backlog + arrivals, math.floor(consumers * world.capacity))
        backlog += arrivals - consumed
        peak = max(peak, backlog)
        if drained_at is None and t >= trace.load_ends and backlog == 0:
            drained_at = t
        replica_seconds += len(ready_at)
    drain = None if drained_at is None else drained_at - trace.load_ends
    return Result(trace.name, scaler.name, drain, peak, replica_seconds, events)


def traces() -> list[Trace]:
    """Half an hour each: a burst, a ramp, a sine, and an idle group with one stuck partition."""
    return [
        Trace(
            "burst",
            "50/s, then 30,000 records within 10 s at t=60, back to 50/s",
            1800,
            lambda t: 3000.0 if 60 <= t < 70 else 50.0,
            load_ends=70,
        ),
        Trace(
            "ramp",
            "0 -> 900/s over 10 min, 5 min at 900/s, then nothing",
            1800,
            lambda t: min(900.0, 1.5 * t) if t < 900 else 0.0,
            load_ends=900,
        ),
        Trace(
            "sine",
            "50 -> 750 -> 50/s, period 10 min, for 25 min, then nothing",
            1800,
            lambda t: 400.0 - 350.0 * math.cos(2 * math.pi * t / 600) if t < 1500 else 0.0,
            load_ends=1500,
        ),
        Trace(
            "idle-stuck",
            "no records; one partition ends with a transaction marker",
            1800,
            lambda t: 0.0,
            load_ends=0,
            stuck_partitions=1,
        ),
    ]
