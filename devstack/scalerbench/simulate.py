"""A one-second-step simulation of a consumer group under an autoscaler (pure, deterministic).

The world, as close to Kafka as a model gets cheaply:
- `partitions` partitions, each with its own log; records arrive spread evenly over them, or a share of them on
  partition 0 (a hot key);
- a pod consumes once it started (`startup_seconds`) and joined; the group assigns partitions round-robin to
  the joined members (aiokafka's default assignor), so with 7 members on 12 partitions five hold two;
- each member consumes at most `capacity` records/s from its own partitions, and commits what it consumed;
- every change of membership (a pod joining when it is ready, a pod leaving) pauses the whole group for
  `rebalance_seconds`: the pause is charged when pods join, not when the scaler decides;
- a new group starts where its reset policy says: `latest` skips what arrived before its first member;
- a trace's marker partitions end with a transaction marker: visible lag 1 that nobody can consume;
- while the broker is down nothing is consumed and no autoscaler can read the group; the producer holds the
  records due meanwhile and delivers them when it is back, and the group then rejoins (a rebalance).

The traces are the bench's shapes (traces.py), half an hour each, in pods' worth: their records arrive at
`capacity` records/s a pod, once a second, by the schedule the bench's feed sends them with (schedule.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from devstack.scalerbench.schedule import Schedule
from devstack.scalerbench.traces import Trace as Trace  # re-exported: the simulation's callers name it here
from devstack.scalerbench.traces import (
    Units,
    broker_restart,
    burst,
    hot_partition,
    idle_markers,
    new_group,
    ramp,
    sine,
)
from eventkit.lag import PartitionLag, PartitionOffsets, partition_lag

TOPIC = "sim"
Partition = tuple[str, int]


@dataclass(frozen=True)
class World:
    partitions: int = 12
    capacity: float = 100.0  # records/s per replica: a trace's pods' worth
    startup_seconds: int = 20
    rebalance_seconds: int = 3
    initial_replicas: int = 1


@dataclass(frozen=True)
class GroupView:
    """What an autoscaler can read from Kafka and Kubernetes at one second."""

    lags: list[PartitionLag] | None  # None: Kafka does not answer (the broker is down)
    replicas: int  # of the Deployment, started or not
    members: tuple[frozenset[Partition], ...]  # what each joined member holds


class Autoscaler(Protocol):
    @property
    def name(self) -> str: ...

    def step(self, t: int, view: GroupView) -> int | None:
        """Called every second; the replica count to set, or None to leave it."""
        ...


@dataclass(frozen=True)
class Result:
    trace: str
    scaler: str
    time_to_drain: int | None  # seconds after load_ends until the backlog first reaches 0; None: never
    peak_lag: int
    replica_seconds: int
    scale_events: int
    rebalances: int


def round_robin(members: int, partitions: int) -> list[frozenset[Partition]]:
    return [frozenset((TOPIC, p) for p in range(m, partitions, members)) for m in range(members)]


@dataclass
class _Group:
    world: World
    trace: Trace
    ends: list[int]
    held: list[int]  # records the producer holds while the broker is down
    positions: list[int | None]  # where the group reads next; None before a new group's first member joined
    committed: list[int | None]  # what Kafka shows: None until the group consumed (and committed) a record
    schedule: Schedule

    @classmethod
    def start(cls, world: World, trace: Trace) -> _Group:
        # Each marker sits at its partition's end from the start.
        markers = [1 if p < trace.markers else 0 for p in range(world.partitions)]
        start: list[int | None] = [None if trace.new_group else 0] * world.partitions
        schedule = Schedule(trace, world.capacity, world.partitions, ticks_per_second=1)
        return cls(world, trace, markers, [0] * world.partitions, list(start), list(start), schedule)

    def down(self, t: int) -> bool:
        outage = self.trace.broker_down
        return outage is not None and outage[0] <= t < outage[1]

    def arrive(self, t: int) -> None:
        for p, count in enumerate(self.schedule.due(t)):
            self.held[p] += count
        if not self.down(t):
            self.ends = [end + held for end, held in zip(self.ends, self.held, strict=True)]
            self.held = [0] * self.world.partitions

    def readable_end(self, p: int) -> int:
        return self.ends[p] - (1 if p < self.trace.markers else 0)

    def backlog(self) -> int:
        return sum(max(0, self.readable_end(p) - (pos or 0)) for p, pos in enumerate(self.positions) if pos is not None)

    def view(self, t: int, replicas: int, members: Sequence[frozenset[Partition]]) -> GroupView:
        if self.down(t):
            return GroupView(None, replicas, ())
        lags = [
            partition_lag(PartitionOffsets(TOPIC, p, 0, self.ends[p], self.committed[p]), self.trace.reset)
            for p in range(self.world.partitions)
        ]
        return GroupView(lags, replicas, tuple(members))

    def join(self) -> None:
        """The first members of a group without commits start where `latest` puts them: at the end."""
        for p, position in enumerate(self.positions):
            if position is None:
                self.positions[p] = self.readable_end(p)

    def consume(self, members: Sequence[frozenset[Partition]]) -> None:
        for member in members:
            owned = sorted(p for _, p in member)
            budget = math.floor(self.world.capacity)
            # Water-filling: the member shares its capacity among its partitions that have records.
            while budget > 0:
                waiting = [p for p in owned if self.readable_end(p) > (self.positions[p] or 0)]
                if not waiting:
                    break
                share = max(1, budget // len(waiting))
                for p in waiting:
                    take = min(share, budget, self.readable_end(p) - (self.positions[p] or 0))
                    self.positions[p] = (self.positions[p] or 0) + take
                    self.committed[p] = self.positions[p]  # each batch is committed once applied
                    budget -= take


def run(trace: Trace, scaler: Autoscaler, world: World) -> Result:
    group = _Group.start(world, trace)
    initial = 0 if trace.new_group else world.initial_replicas
    ready_at = [0] * initial  # the second at which each pod has started
    joined: list[frozenset[Partition]] = []
    paused_until = replica_seconds = events = rebalances = peak = 0
    drained_at: int | None = None
    back = trace.broker_down[1] if trace.broker_down else None
    for t in range(trace.seconds):
        group.arrive(t)
        # The scaler sees this second's records before they are consumed and committed: a group that keeps
        # up still shows the records in flight, as committed offsets do between commits.
        wanted = scaler.step(t, group.view(t, len(ready_at), joined))
        if wanted is not None and wanted != len(ready_at):
            events += 1
            # Scale-down removes the youngest pods first, as a ReplicaSet prefers not-yet-ready ones.
            ready_at = sorted(ready_at)[:wanted] + [t + world.startup_seconds] * max(0, wanted - len(ready_at))
        started = sum(1 for at in ready_at if at <= t)
        # While the broker is down there is no coordinator: pods that start then join once it is back.
        reachable = not group.down(t)
        if reachable and (started != len(joined) or (t == back and joined)):
            rebalances += 1
            paused_until = t + world.rebalance_seconds
            joined = round_robin(started, world.partitions) if started else []
            if joined:
                group.join()
        if reachable and t >= paused_until:
            group.consume(joined)
        backlog = group.backlog()
        peak = max(peak, backlog)
        if drained_at is None and t >= trace.load_ends and backlog == 0:
            drained_at = t
        replica_seconds += len(ready_at)
    drain = None if drained_at is None else drained_at - trace.load_ends
    return Result(trace.name, scaler.name, drain, peak, replica_seconds, events, rebalances)


def traces() -> list[Trace]:
    """Half an hour each: a burst, a ramp, a sine, a hot partition, a new group, a broker restart, an idle group
    with a marker."""
    seconds = 1800
    units = Units(World.capacity, "/s", " records")  # the descriptions in records/s at the default pods' rate
    return [
        burst(at=60, seconds=seconds, units=units),
        ramp(rise=600, hold=300, seconds=seconds, units=units),
        sine(period=600, length=1500, seconds=seconds, units=units),
        hot_partition(length=600, seconds=seconds, units=units),
        new_group(length=600, seconds=seconds, units=units),
        broker_restart(length=900, down=(300, 320), seconds=seconds, units=units),
        idle_markers(markers=1, seconds=seconds),
    ]
