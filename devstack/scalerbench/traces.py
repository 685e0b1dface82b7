"""The load shapes of the real bench (pure): the simulation's traces, shortened so a run takes an hour, plus a
broker restart, in units of one pod's rate so the same shapes fit any `--rate`.

Each gives the inflow (records/s) at every second, which partitions it lands on, and what else happens: a
group that never committed, transaction markers left at the partitions' ends, the broker going away.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

PARTITIONS = 12


@dataclass(frozen=True)
class Trace:
    name: str
    description: str
    seconds: int
    inflow: Callable[[float], float]  # records/s at second t, in pods' worth (x --rate)
    load_ends: int  # from here the inflow stays at its final level: "time to drain" counts from this second
    hot_share: float = 0.0  # share of the inflow on partition 0 (one hot key)
    new_group: bool = False  # no commits yet, reset policy latest, starting at zero replicas
    markers: bool = False  # one committed transaction per partition at the start: each ends with a marker
    broker_down: tuple[int, int] | None = None  # from, to (seconds): the broker is stopped in between

    @property
    def initial_replicas(self) -> int:
        return 0 if self.new_group else 1

    @property
    def reset(self) -> str:
        return "latest" if self.new_group else "earliest"

    def final_inflow(self) -> float:
        return self.inflow(self.seconds - 1)


def _burst(quick: bool) -> Trace:
    # The simulation's burst in pods' worth: 300 pod-seconds of records within 10 s over half a pod's inflow.
    return Trace(
        "burst",
        "0.5 pods' worth/s, then 300 pod-seconds of records within 10 s at t=30, back to 0.5",
        240 if quick else 480,
        lambda t: 30.0 if 30 <= t < 40 else 0.5,
        load_ends=40,
    )


def _ramp(quick: bool) -> Trace:
    rise, hold = (120, 60) if quick else (240, 120)
    return Trace(
        "ramp",
        f"0 -> 9 pods' worth/s over {rise} s, {hold} s at 9, then nothing",
        240 if quick else 600,
        lambda t: 9.0 * min(1.0, t / rise) if t < rise + hold else 0.0,
        load_ends=min(rise + hold, 240 if quick else 600),
    )


def traces(quick: bool = False) -> list[Trace]:
    """`quick`: burst and ramp only, four minutes each."""
    shapes = [_burst(quick), _ramp(quick)]
    if quick:
        return shapes
    return [
        *shapes,
        Trace(
            "sine",
            "4 -> 7.5 -> 0.5 -> ... pods' worth/s, period 5 min, for 8 min, then nothing",
            600,
            lambda t: 4.0 - 3.5 * math.cos(2 * math.pi * t / 300) if t < 480 else 0.0,
            load_ends=480,
        ),
        Trace(
            "hot-partition",
            "3 pods' worth/s for 5 min, 70 % of it on partition 0 (one key), then nothing",
            480,
            lambda t: 3.0 if t < 300 else 0.0,
            load_ends=300,
            hot_share=0.7,
        ),
        Trace(
            "new-group",
            "a group that never committed, at 0 replicas, reset latest: 2 pods' worth/s from t=30 for 5 min",
            480,
            lambda t: 2.0 if 30 <= t < 330 else 0.0,
            load_ends=330,
            new_group=True,
        ),
        Trace(
            "broker-restart",
            "3 pods' worth/s for 6 min; the broker is down from t=120 to t=140",
            480,
            lambda t: 3.0 if t < 360 else 0.0,
            load_ends=360,
            broker_down=(120, 140),
        ),
        Trace(
            "idle-markers",
            "a few committed transactions at the start, then nothing: every partition ends with a marker",
            480,
            lambda t: 0.0,
            load_ends=0,
            markers=True,
        ),
    ]


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
