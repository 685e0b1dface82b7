"""A model of KEDA's Kafka scaler driving the real HPA, for the unit-level simulation (`orderflow scaler compare`).

Each rule names the source it follows, kedacore/keda v2.21.0 and k8s.io/kubernetes v1.37.2 (the real binaries
run side by side with ours in `orderflow scaler bench`; this model only keeps the quick check honest):

- the metric, `getTotalLag` (pkg/scalers/kafka_scaler.go:907-958): per partition end minus commit; a partition
  without a commit counts 1 under `latest` (684-717) or its retained records under `earliest` (738-749); the
  lag is capped at partitions x lagThreshold only when `totalLag / lagThreshold > partitions` in integer
  division (954), so P+1 replicas get through; activity is `totalLag > activationLagThreshold` (901);
- KEDA's scale loop every `pollingInterval` (default 30, apis/keda/v1alpha1/withtriggers_types.go:51): active at 0
  replicas scales to max(minReplicaCount, 1) (executor/scale_scaledobjects.go:259-266); inactive with
  minReplicaCount 0 scales to 0 once `lastActiveTime + cooldownPeriod` is strictly before now (222-223; default
  cooldown 300, executor/scale_executor.go:38);
- the HPA syncs every 15 s and asks the metrics adapter, which queries the scaler live on every request unless
  `useCachedMetrics` (pkg/scaling/scale_handler.go:853); it does nothing at 0 replicas;
- replicas from an AverageValue external metric: unchanged within the 10 % tolerance, else
  ceil(metric / target) (replica_calculator.go:401-412);
- without `behavior` (KEDA leaves it nil unless configured): the recommendation is the maximum over the last
  300 s of recommendations, which can also raise it (horizontal.go:1083-1106), then at most
  max(2 x current, 4) up (1371-1409);
- with `behavior`: up and down stabilization windows bound the current count (1257-1310), then the policies'
  rate limits over their periods (1434-1487).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from devstack.scalerbench.simulate import GroupView
from eventkit.lag import PartitionLag


@dataclass(frozen=True)
class Behavior:
    """`advanced.horizontalPodAutoscalerConfig.behavior` of a ScaledObject: one Pods policy up, one Percent down."""

    up_window: int = 0
    up_pods: int = 4
    up_period: int = 15
    down_window: int = 300
    down_percent: int = 100
    down_period: int = 15


@dataclass(frozen=True)
class KedaConfig:
    name: str = "keda"
    lag_threshold: int = 100
    activation_lag_threshold: int = 0
    polling_interval: int = 30
    cooldown_period: int = 300
    min_replica_count: int = 0
    max_replica_count: int = 20
    offset_reset_policy: Literal["earliest", "latest"] = "latest"
    use_cached_metrics: bool = False
    behavior: Behavior | None = None
    # kube-controller-manager's defaults
    hpa_sync_seconds: int = 15
    tolerance: float = 0.1
    downscale_stabilization_seconds: int = 300


def defaults(lag_threshold: int, max_replicas: int) -> KedaConfig:
    return KedaConfig("keda", lag_threshold=lag_threshold, max_replica_count=max_replicas)


def tuned(lag_threshold: int, max_replicas: int) -> KedaConfig:
    """KEDA as a Kafka user tunes it: 10 s polls, 60 s cooldown, activation 1, up 12 pods per 15 s, 300 s down."""
    return KedaConfig(
        "keda-tuned",
        lag_threshold=lag_threshold,
        activation_lag_threshold=1,
        polling_interval=10,
        cooldown_period=60,
        max_replica_count=max_replicas,
        behavior=Behavior(up_window=0, up_pods=12, up_period=15, down_window=300),
    )


def total_lag(lags: Sequence[PartitionLag], config: KedaConfig) -> tuple[int, int]:
    """(metric, lag for activity), as `getTotalLag` computes them from the same offsets."""
    total = 0
    for p in lags:
        if p.source == "committed":
            total += p.lag
        elif config.offset_reset_policy == "latest":
            total += 1  # "probably no offset is committed yet": lag 1 on purpose, so the group starts
        else:
            total += p.lag  # the retained records (log end minus log start)
    metric = total
    if total // config.lag_threshold > len(lags):
        metric = len(lags) * config.lag_threshold
    return metric, total


@dataclass
class KedaHpa:
    config: KedaConfig
    keda_phase: int = 0
    hpa_phase: int = 0
    last_active: int | None = None
    cached_metric: int | None = None
    recommendations: list[tuple[int, int]] = field(default_factory=list)
    scale_events: list[tuple[int, int]] = field(default_factory=list)  # (second, replicas added; < 0 removed)

    @property
    def name(self) -> str:
        return self.config.name

    def step(self, t: int, view: GroupView) -> int | None:
        config = self.config
        replicas = view.replicas
        if (t + self.keda_phase) % config.polling_interval == 0:
            metric, lag = total_lag(view.lags, config)
            self.cached_metric = metric
            if lag > config.activation_lag_threshold:
                self.last_active = t
                if replicas == 0:
                    return self._set(t, replicas, max(config.min_replica_count, 1))
            elif replicas > 0 and config.min_replica_count == 0:
                # Never active: the ScaledObject's creation (t=0) plus initialCooldownPeriod (default 0).
                ends = config.cooldown_period + self.last_active if self.last_active is not None else 0
                if ends < t:  # Before(): strictly
                    return self._set(t, replicas, 0)
        if replicas == 0 or (t + self.hpa_phase) % config.hpa_sync_seconds:
            return None
        live, _ = total_lag(view.lags, config)
        metric = self.cached_metric if config.use_cached_metrics and self.cached_metric is not None else live
        desired = self._hpa(t, replicas, metric)
        return self._set(t, replicas, desired) if desired != replicas else None

    def _set(self, t: int, current: int, wanted: int) -> int:
        if wanted != current:
            self.scale_events.append((t, wanted - current))
        return wanted

    def _raw(self, replicas: int, metric: int) -> int:
        ratio = metric / (self.config.lag_threshold * replicas)
        if abs(ratio - 1.0) <= self.config.tolerance:
            return replicas
        return math.ceil(metric / self.config.lag_threshold)

    def _hpa(self, t: int, replicas: int, metric: int) -> int:
        raw = self._raw(replicas, metric)
        lowest, highest = 1, self.config.max_replica_count  # the HPA's minReplicas is max(minReplicaCount, 1)
        behavior = self.config.behavior
        if behavior is None:
            window = self.config.downscale_stabilization_seconds
            stabilized = max([raw, *(r for at, r in self.recommendations if t - at <= window)])
            self._record(t, raw, window)
            return min(max(stabilized, lowest), min(highest, max(2 * replicas, 4)))
        up = min([raw, *(r for at, r in self.recommendations if t - at < behavior.up_window)])
        down = max([raw, *(r for at, r in self.recommendations if t - at < behavior.down_window)])
        self._record(t, raw, max(behavior.up_window, behavior.down_window))
        stabilized = min(max(replicas, up), down)
        if stabilized > replicas:
            start = replicas - self._changed(t, behavior.up_period, +1) - self._changed(t, behavior.up_period, -1)
            stabilized = min(stabilized, max(start + behavior.up_pods, replicas))
        elif stabilized < replicas:
            start = replicas - self._changed(t, behavior.down_period, +1) - self._changed(t, behavior.down_period, -1)
            stabilized = max(stabilized, int(start * (1 - behavior.down_percent / 100)))
        return min(max(stabilized, lowest), highest)

    def _record(self, t: int, raw: int, keep: int) -> None:
        self.recommendations = [(at, r) for at, r in self.recommendations if t - at <= keep]
        self.recommendations.append((t, raw))

    def _changed(self, t: int, period: int, sign: int) -> int:
        """Replicas added (sign +1) or removed (-1, counted negative) within the last `period` seconds."""
        return sum(change for at, change in self.scale_events if t - at < period and change * sign > 0)
