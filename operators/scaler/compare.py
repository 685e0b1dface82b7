"""Our policy against KEDA's Kafka scaler driving an HPA, over the same simulated traces.

KEDA as documented: every 30 s it reads the total lag (capped at partitions x lagThreshold) and activates
0 -> 1 above activationLagThreshold or, after a 300 s cooldown without lag, scales to 0; between, the HPA
syncs every 15 s to ceil(lag / lagThreshold) unless within its 10% tolerance, scales up by at most
max(4 pods, 100%) per sync and down only to the highest recommendation of the last 300 s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from eventkit.lag import PartitionLag, total_lag
from operators.scaler.evaluate import Memory, evaluate
from operators.scaler.simulate import Result, World, run, traces
from operators.scaler.spec import ScalerSpec

LAG_PER_REPLICA = 100
MAX_REPLICAS = 20


def our_spec() -> ScalerSpec:
    """The CRD's defaults; only what the comparison fixes for both sides is set."""
    return ScalerSpec.model_validate(
        {
            "scaleTargetRef": {"name": "consumer"},
            "bootstrapServers": "simulated:9092",
            "consumerGroup": "consumer",
            "lagPerReplica": LAG_PER_REPLICA,
            "minReplicas": 0,
            "maxReplicas": MAX_REPLICAS,
        }
    )


@dataclass
class Ours:
    spec: ScalerSpec = field(default_factory=our_spec)
    name: str = "ours"
    memory: Memory = field(default_factory=Memory)

    def step(self, t: int, lags: Sequence[PartitionLag], replicas: int) -> int | None:
        if t % self.spec.poll_interval_seconds:
            return None
        tolerance = self.spec.transaction_marker_tolerance
        result, self.memory = evaluate(self.spec.policy(), tolerance, lags, replicas, self.memory, float(t))
        return result.decision.desired


@dataclass
class KedaHpa:
    name: str = "keda+hpa"
    threshold: int = LAG_PER_REPLICA
    activation: int = 0
    max_replicas: int = MAX_REPLICAS
    polling: int = 30
    hpa_sync: int = 15
    tolerance: float = 0.1
    cooldown: int = 300
    down_window: int = 300
    metric: int | None = None
    last_active: int = 0
    recommendations: list[tuple[int, int]] = field(default_factory=list)

    def step(self, t: int, lags: Sequence[PartitionLag], replicas: int) -> int | None:
        if t % self.polling == 0:
            lag = total_lag(lags)
            # KEDA caps the metric, not the replicas, at the partition count (unless allowIdleConsumers).
            self.metric = min(lag, len(lags) * self.threshold)
            if lag > self.activation:
                self.last_active = t
                if replicas == 0:
                    return 1
            elif replicas > 0 and t - self.last_active >= self.cooldown:
                return 0
        if replicas == 0 or self.metric is None or t % self.hpa_sync:
            return None
        return self._hpa(t, replicas, self.metric)

    def _hpa(self, t: int, replicas: int, metric: int) -> int:
        ratio = metric / (self.threshold * replicas)
        wanted = replicas if abs(ratio - 1) <= self.tolerance else math.ceil(metric / self.threshold)
        wanted = min(max(wanted, 1), self.max_replicas)
        self.recommendations = [(at, r) for at, r in self.recommendations if t - at < self.down_window]
        self.recommendations.append((t, wanted))
        if wanted < replicas:
            return max(wanted, min(replicas, max(r for _, r in self.recommendations)))
        return min(wanted, max(replicas + 4, 2 * replicas))


def compare(world: World | None = None) -> list[Result]:
    world = world or World()
    return [run(trace, scaler, world) for trace in traces() for scaler in (Ours(), KedaHpa())]


def as_json(results: Sequence[Result], world: World) -> dict[str, Any]:
    return {
        "world": asdict(world),
        "traces": {t.name: t.description for t in traces()},
        "results": [asdict(r) for r in results],
    }
