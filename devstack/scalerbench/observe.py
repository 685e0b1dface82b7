"""Once a second, for every contender: the group's lag, its stable assignment and the Deployment's replicas.

Lag is computed by eventkit.lag, the implementation our operator and `orderflow lag` use; KEDA computes its own
from the same offsets. A second in which Kafka does not answer (the broker restart) records no lag and no
assignment, and the replica counts still.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from devstack.scalerbench.measures import Assignment, Sample
from eventkit.lag import ResetPolicy, group_lag
from eventkit.offsets import OffsetReader


@dataclass(frozen=True)
class Target:
    scaler: str  # the contender's name, also its Deployment's
    group: str
    topic: str


@dataclass
class Observer:
    reader: OffsetReader
    kube: httpx.AsyncClient
    namespace: str
    targets: Sequence[Target]
    reset: ResetPolicy
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    async def run(self, started: float, seconds: float) -> None:
        """Sample every second from monotonic `started` for `seconds`."""
        self.samples = {target.scaler: [] for target in self.targets}
        tick = 0
        while tick <= seconds:
            await asyncio.sleep(max(0.0, started + tick - time.monotonic()))
            t = time.monotonic() - started
            found = await asyncio.gather(*(self._sample(target, t) for target in self.targets))
            for target, sample in zip(self.targets, found, strict=True):
                self.samples[target.scaler].append(sample)
            tick += 1

    async def _sample(self, target: Target, t: float) -> Sample:
        desired, pods = await self._replicas(target.scaler)
        lag: int | None = None
        assignment: Assignment | None = None
        try:
            async with asyncio.timeout(0.8):
                offsets = await self.reader.offsets(target.group, [target.topic])
                lag = sum(p.lag for p in group_lag(offsets, self.reset))
                state, members = await self.reader.describe(target.group)
            if state in ("Stable", "Empty"):
                assignment = tuple(sorted(tuple(sorted(p for _, p in member)) for member in members))
        except Exception:  # the broker is away (or slow): this second has no lag, not a failed run
            pass
        return Sample(t, lag, desired, pods, assignment)

    async def _replicas(self, name: str) -> tuple[int, int]:
        response = await self.kube.get(f"/apis/apps/v1/namespaces/{self.namespace}/deployments/{name}")
        response.raise_for_status()
        deployment = response.json()
        return int(deployment["spec"].get("replicas", 0)), int(deployment.get("status", {}).get("replicas", 0))
