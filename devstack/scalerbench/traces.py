"""The load shapes (pure), each declared once in units of one pod's rate, so the same shape serves the
simulation (simulate.traces: half an hour each at World.capacity records/s a pod) and the real bench (`traces`
below: shortened so a run takes an hour, at any `--rate`).

Each gives the inflow at every second, which partitions it lands on, and what else happens: a group that never
committed, transaction markers left at the partitions' ends, the broker going away. A shape takes its timings:
the two sides do not shorten by one factor (the simulation's ramp rises over 10 minutes, the bench's over 4).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from eventkit.lag import ResetPolicy

PARTITIONS = 12


@dataclass(frozen=True)
class Trace:
    name: str
    description: str
    seconds: int
    inflow: Callable[[float], float]  # at second t, in pods' worth/s: x one pod's records/s (World.capacity, --rate)
    load_ends: int  # from here the inflow stays at its final level: "time to drain" counts from this second
    hot_share: float = 0.0  # share of the inflow on partition 0 (one hot key)
    new_group: bool = False  # no commits yet, reset policy latest, starting at zero replicas
    markers: int = 0  # partitions (the first ones) whose log ends with a transaction marker from the start
    broker_down: tuple[int, int] | None = None  # from, to (seconds): the broker is stopped in between

    @property
    def initial_replicas(self) -> int:
        return 0 if self.new_group else 1

    @property
    def reset(self) -> ResetPolicy:
        return "latest" if self.new_group else "earliest"

    def final_inflow(self) -> float:
        return self.inflow(self.seconds - 1)


@dataclass(frozen=True)
class Units:
    """How a side states a shape's rates in its description: the bench in pods' worth (it runs at any --rate),
    the simulation in records/s at its pods' rate."""

    per_pod: float  # what one pod's worth reads as
    per_second: str  # after a rate
    of_records: str  # after an amount of pod-seconds' worth of records

    def number(self, pods: float) -> str:
        return f"{pods * self.per_pod:,g}"

    def rate(self, pods: float) -> str:
        return self.number(pods) + self.per_second


PODS = Units(1.0, " pods' worth/s", " pod-seconds of records")


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:g} min"


# The burst: this many pod-seconds' worth of records within BURST_SECONDS.
BURST_POD_SECONDS = 300
BURST_SECONDS = 10


def burst(at: int, seconds: int, units: Units = PODS) -> Trace:
    base = units.rate(0.5)
    return Trace(
        "burst",
        f"{base}, then {units.number(BURST_POD_SECONDS)}{units.of_records} within {BURST_SECONDS} s at t={at}, "
        f"back to {base}",
        seconds,
        lambda t: BURST_POD_SECONDS / BURST_SECONDS if at <= t < at + BURST_SECONDS else 0.5,
        load_ends=at + BURST_SECONDS,
    )


def ramp(rise: int, hold: int, seconds: int, units: Units = PODS) -> Trace:
    top = units.rate(9)
    return Trace(
        "ramp",
        f"0 -> {top} over {_minutes(rise)}, {_minutes(hold)} at {top}, then nothing",
        seconds,
        lambda t: 9.0 * min(1.0, t / rise) if t < rise + hold else 0.0,
        load_ends=rise + hold,
    )


def sine(period: int, length: int, seconds: int, units: Units = PODS) -> Trace:
    low, high = units.number(0.5), units.number(7.5)
    return Trace(
        "sine",
        f"{low} -> {high} -> {low}{units.per_second}, period {_minutes(period)}, for {_minutes(length)}, then nothing",
        seconds,
        lambda t: 4.0 - 3.5 * math.cos(2 * math.pi * t / period) if t < length else 0.0,
        load_ends=length,
    )


def _level(name: str, description: str, pods: float, start: int, length: int, seconds: int) -> Trace:
    """`pods` pods' worth/s from second `start` for `length` seconds, nothing before or after."""
    return Trace(
        name, description, seconds, lambda t: pods if start <= t < start + length else 0.0, load_ends=start + length
    )


def hot_partition(length: int, seconds: int, units: Units = PODS) -> Trace:
    description = f"{units.rate(3)} for {_minutes(length)}, 70 % of it on partition 0 (one key), then nothing"
    return replace(_level("hot-partition", description, 3.0, 0, length, seconds), hot_share=0.7)


def new_group(length: int, seconds: int, units: Units = PODS) -> Trace:
    description = (
        f"a group that never committed, at 0 replicas, reset latest: {units.rate(2)} from t=30 for {_minutes(length)}"
    )
    return replace(_level("new-group", description, 2.0, 30, length, seconds), new_group=True)


def broker_restart(length: int, down: tuple[int, int], seconds: int, units: Units = PODS) -> Trace:
    description = f"{units.rate(3)} for {_minutes(length)}; the broker is down from t={down[0]} to t={down[1]}"
    return replace(_level("broker-restart", description, 3.0, 0, length, seconds), broker_down=down)


def idle_markers(markers: int, seconds: int) -> Trace:
    ending = "one partition ends" if markers == 1 else f"{markers} partitions end"
    return Trace(
        "idle-markers",
        f"no records; {ending} with a transaction marker",
        seconds,
        lambda t: 0.0,
        load_ends=0,
        markers=markers,
    )


def traces(quick: bool = False) -> list[Trace]:
    """The bench's, in pods' worth; `quick`: burst and ramp only, four minutes each."""
    if quick:
        return [burst(at=30, seconds=240), ramp(rise=120, hold=60, seconds=240)]
    return [
        burst(at=30, seconds=480),
        ramp(rise=240, hold=120, seconds=600),
        sine(period=300, length=480, seconds=600),
        hot_partition(length=300, seconds=480),
        new_group(length=300, seconds=480),
        broker_restart(length=360, down=(120, 140), seconds=480),
        idle_markers(markers=PARTITIONS, seconds=480),
    ]
