"""A model of KEDA's Kafka scaler driving the real HPA, for the unit-level simulation (`orderflow scaler compare`).

Each rule names the source it follows, kedacore/keda v2.21.0 and k8s.io/kubernetes v1.37.2 (the real binaries
run side by side with ours in `orderflow scaler bench`; this model only keeps the quick check honest):

- the metric, `getTotalLag` (pkg/scalers/kafka_scaler.go:907-958): per partition end minus commit; a partition
  without a commit counts 1 under `latest` (684-717) or its retained records under `earliest` (738-749); the
  lag is capped at partitions x lagThreshold only when `totalLag / lagThreshold > partitions` in integer
  division (954), so P+1 replicas get through; activity is `totalLagWithPersistent > activationLagThreshold`
  (901);
- the trigger's options (metadata 72-76, all false by default; `Validate` 140-151 refuses allowIdleConsumers
  with limitToPartitionsWithLag and limitToPartitionsWithLag with ensureEvenDistributionOfPartitions, and
  either of the last two without `topic`, which the bench always sets): `scaleToZeroOnInvalidOffset` counts a
  partition without a commit as 0 (702-719); `excludePersistentLag` (752-769) remembers each partition's commit
  at the scaler's previous call and counts a partition whose commit has not moved as 0 in the metric, but fully
  in the lag for activity; partitions without a commit return before that block (702-749), so they are never
  remembered nor excluded; `allowIdleConsumers` lifts the cap (940); `ensureEvenDistributionOfPartitions`
  replaces the metric by the smallest factor f of the partition count with f x lagThreshold >= lag (or the
  partition count), times lagThreshold (944-948, 960-968, `FindFactors` 1037-1057), so even lag 0 reads as one
  replica's worth; `limitToPartitionsWithLag` caps at the partitions whose (excluded) lag is above 0 instead
  (929-934, 949-951), with the same integer division;
- the scaler instance is one per ScaledObject, shared by KEDA's scale loop and the metrics adapter's queries
  (the same scalers cache, pkg/scaling/scale_handler.go:526-560); with minReplicaCount 0 the loop queries the
  trigger itself (apis/keda/v1alpha1/scaledobject_types.go:304-329), so every poll and every HPA query without
  `useCachedMetrics` moves the remembered commits of `excludePersistentLag`;
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
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, TypedDict

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
    # The Kafka trigger's boolean options (kafka_scaler.go:72-76), all false by default
    allow_idle_consumers: bool = False
    exclude_persistent_lag: bool = False
    scale_to_zero_on_invalid_offset: bool = False
    limit_to_partitions_with_lag: bool = False
    ensure_even_distribution_of_partitions: bool = False

    def __post_init__(self) -> None:
        # KEDA refuses these pairs when it parses the trigger (kafka_scaler.go:140-151), with these messages.
        if self.allow_idle_consumers and self.limit_to_partitions_with_lag:
            raise ValueError("allowIdleConsumers and limitToPartitionsWithLag cannot be set simultaneously")
        if self.limit_to_partitions_with_lag and self.ensure_even_distribution_of_partitions:
            raise ValueError(
                "limitToPartitionsWithLag and ensureEvenDistributionOfPartitions cannot be set simultaneously"
            )


# Each boolean option of the Kafka trigger by its field here: its metadata key in a ScaledObject.
OPTIONS = {
    "allow_idle_consumers": "allowIdleConsumers",
    "exclude_persistent_lag": "excludePersistentLag",
    "scale_to_zero_on_invalid_offset": "scaleToZeroOnInvalidOffset",
    "limit_to_partitions_with_lag": "limitToPartitionsWithLag",
    "ensure_even_distribution_of_partitions": "ensureEvenDistributionOfPartitions",
}


def options(config: KedaConfig) -> dict[str, str]:
    """The trigger metadata of the options `config` sets, as KEDA reads them: only those set, each "true"."""
    return {key: "true" for name, key in OPTIONS.items() if getattr(config, name)}


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


class TriggerOptions(TypedDict, total=False):
    """The Kafka trigger's boolean options, by their KedaConfig fields."""

    allow_idle_consumers: bool
    exclude_persistent_lag: bool
    scale_to_zero_on_invalid_offset: bool
    limit_to_partitions_with_lag: bool
    ensure_even_distribution_of_partitions: bool


# What a Kafka user at their best sets on top of `tuned`, per trace (the simulation's and the bench's), and why.
# Not set on any trace: allowIdleConsumers (more consumers than partitions only idle); partitionLimitation (every
# partition carries the load); scaleToZeroOnInvalidOffset (a group without commits at 0 replicas would never
# wake under `latest`: its lag stays 0 as nobody consumes, kafka_scaler.go:702-713); excludePersistentLag where
# consumers stand still with real lag (at 0 replicas, while a pod starts, in a rebalance, while the broker is
# away): their lag would vanish from the metric for exactly the calls at which it matters.
BEST: dict[str, TriggerOptions] = {
    # Even lag on every partition: 7 to 11 consumers on 12 partitions drain no faster than 6 (some still hold
    # two), so round up to a factor of 12 (keda#2581, #7517); it also ends the P+1 of the integer cap.
    "burst": {"ensure_even_distribution_of_partitions": True},
    "ramp": {"ensure_even_distribution_of_partitions": True},
    "sine": {"ensure_even_distribution_of_partitions": True},
    # One hot key: once only partition 0 lags, one consumer is all that can work on it (keda#3997); while the
    # others still receive records, each shows some in flight and the cap stays at 12. It excludes the even
    # distribution (kafka_scaler.go:146), which would keep 12 replicas on partition 0's backlog.
    "hot-partition": {"limit_to_partitions_with_lag": True},
    # A group without commits and a broker outage: the load is even, consumers stand still at 0 replicas and
    # while the broker is away, so no excludePersistentLag.
    "new-group": {"ensure_even_distribution_of_partitions": True},
    "broker-restart": {"ensure_even_distribution_of_partitions": True},
    # A transaction marker is lag no consumer ever reads: persistent lag, which excludePersistentLag drops from
    # the metric. It does not make the group idle, though: activity counts it (kafka_scaler.go:901); tuned's
    # activationLagThreshold 1 is what lets a single marker sleep. Nothing is produced, so no real lag is hidden.
    "idle-markers": {"exclude_persistent_lag": True, "ensure_even_distribution_of_partitions": True},
}


def best(trace: str, lag_threshold: int, max_replicas: int) -> KedaConfig:
    """KEDA at its best for `trace`: `tuned` plus the Kafka trigger's options a user would set for it (`BEST`)."""
    return replace(tuned(lag_threshold, max_replicas), name="keda-best", **BEST[trace])


def _next_factor(lag: int, partitions: int, threshold: int) -> int:
    """`getNextFactorThatBalancesConsumersToTopicPartitions` (kafka_scaler.go:960-968)."""
    factors = sorted(f for f in range(1, partitions + 1) if partitions % f == 0)
    return next((f for f in factors if f * threshold >= lag), partitions)


def total_lag(
    lags: Sequence[PartitionLag], config: KedaConfig, previous: MutableMapping[tuple[str, int], int] | None = None
) -> tuple[int, int]:
    """(metric, lag for activity), as `getTotalLag` computes them from the same offsets.

    `previous` is the scaler's memory of each partition's commit at its previous call (`excludePersistentLag`),
    updated in place; None: a scaler's first call.
    """
    if previous is None:
        previous = {}
    total = with_persistent = with_lag = 0
    for p in lags:
        if p.source != "committed":
            if config.scale_to_zero_on_invalid_offset:
                lag = 0
            elif config.offset_reset_policy == "latest":
                lag = 1  # "probably no offset is committed yet": lag 1 on purpose, so the group starts
            else:
                lag = p.lag  # the retained records (log end minus log start)
            persistent = lag
        else:
            lag = persistent = p.lag
            if config.exclude_persistent_lag:
                key = (p.topic, p.partition)
                if previous.get(key) == p.position:
                    lag = 0  # the commit has not moved since the previous call: counted for activity only
                else:
                    previous[key] = p.position
        total += lag
        with_persistent += persistent
        with_lag += int(lag > 0)
    metric = total
    if (
        not config.allow_idle_consumers
        or config.limit_to_partitions_with_lag
        or config.ensure_even_distribution_of_partitions
    ):
        bound = len(lags)
        if config.ensure_even_distribution_of_partitions:
            metric = _next_factor(total, len(lags), config.lag_threshold) * config.lag_threshold
        if config.limit_to_partitions_with_lag:
            bound = with_lag
        if metric // config.lag_threshold > bound:
            metric = bound * config.lag_threshold
    return metric, with_persistent


@dataclass
class KedaHpa:
    config: KedaConfig
    keda_phase: int = 0
    hpa_phase: int = 0
    last_active: int | None = None
    cached_metric: int | None = None
    recommendations: list[tuple[int, int]] = field(default_factory=list)
    scale_events: list[tuple[int, int]] = field(default_factory=list)  # (second, replicas added; < 0 removed)
    # The Kafka scaler's `previousOffsets`: one instance answers KEDA's polls and the HPA's queries alike.
    previous_offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.config.name

    def step(self, t: int, view: GroupView) -> int | None:
        config = self.config
        replicas = view.replicas
        if view.lags is None:
            # Kafka does not answer: KEDA's scale loop only marks the trigger failed (no `fallback`:
            # pkg/scaling/executor/scale_scaledobjects.go:81,100) and the HPA, given no metric, keeps the count.
            return None
        if (t + self.keda_phase) % config.polling_interval == 0:
            metric, lag = total_lag(view.lags, config, self.previous_offsets)
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
        if config.use_cached_metrics and self.cached_metric is not None:
            metric = self.cached_metric  # KEDA's last poll: the scaler is not asked
        else:
            metric, _ = total_lag(view.lags, config, self.previous_offsets)
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
