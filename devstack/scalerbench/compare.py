"""Our policy against KEDA's Kafka scaler driving an HPA (`keda.py`), over the same simulated traces.

KEDA runs three ways: with its defaults, tuned as a Kafka user tunes it, and at its best: tuned plus the Kafka
trigger's options a user would set for each trace (`keda.best`).

Every scaler runs on each trace at `runs` phases: the seconds at which its loops fire relative to the trace are
drawn at random (seeded), since a single phase can flatter either side. Each metric is reported as the median
over the runs with its minimum and maximum.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from devstack.scalerbench import keda
from devstack.scalerbench.simulate import GroupView, Result, Trace, World, run, traces
from operators.scaler.config import OperatorConfig
from operators.scaler.evaluate import Memory, evaluate
from operators.scaler.spec import ScalerSpec

LAG_PER_REPLICA = 100
MAX_REPLICAS = 20
# The operator's default, not this environment's ORDERFLOW_SCALER_MAX_BACKOFF_SECONDS.
_MAX_BACKOFF = OperatorConfig.model_fields["max_backoff_seconds"].default
METRICS = ("time_to_drain", "peak_lag", "replica_seconds", "scale_events", "rebalances")


def our_spec(**overrides: Any) -> ScalerSpec:
    """The CRD's defaults; only what the comparison fixes for every side is set."""
    return ScalerSpec.model_validate(
        {
            "scaleTargetRef": {"name": "consumer"},
            "bootstrapServers": "simulated:9092",
            "consumerGroup": "consumer",
            "lagPerReplica": LAG_PER_REPLICA,
            "minReplicas": 0,
            "maxReplicas": MAX_REPLICAS,
            **overrides,
        }
    )


@dataclass
class Ours:
    spec: ScalerSpec = field(default_factory=our_spec)
    phase: int = 0
    name: str = "ours"
    memory: Memory = field(default_factory=Memory)
    next_poll: int | None = None
    failures: int = 0

    def step(self, t: int, view: GroupView) -> int | None:
        interval = self.spec.poll_interval_seconds
        if self.next_poll is None:
            self.next_poll = -self.phase % interval
        if t < self.next_poll:
            return None
        if view.lags is None:
            # As the operator does when Kafka does not answer (reconcile._degraded): keep the replicas, forget the
            # snapshot, back off.
            self.failures += 1
            self.next_poll = t + int(min(_MAX_BACKOFF, interval * 2**self.failures))
            self.memory = replace(self.memory, rate=self.memory.rate.forget_snapshot())
            return None
        self.failures, self.next_poll = 0, t + interval
        tolerance = self.spec.transaction_marker_tolerance
        result, self.memory = evaluate(
            self.spec.policy(), tolerance, view.lags, view.replicas, self.memory, float(t), view.members
        )
        return result.decision.desired


Contender = Callable[[random.Random, Trace], Ours | keda.KedaHpa]


def contenders() -> dict[str, Contender]:
    """Each scaler's factory: a fresh instance for one run of a trace, at the phases `rng` draws."""
    return {
        "ours": lambda rng, trace: Ours(phase=rng.randrange(60)),
        "keda": lambda rng, trace: keda.KedaHpa(
            keda.defaults(LAG_PER_REPLICA, MAX_REPLICAS), rng.randrange(60), rng.randrange(60)
        ),
        "keda-tuned": lambda rng, trace: keda.KedaHpa(
            keda.tuned(LAG_PER_REPLICA, MAX_REPLICAS), rng.randrange(60), rng.randrange(60)
        ),
        "keda-best": lambda rng, trace: keda.KedaHpa(
            keda.best(trace.name, LAG_PER_REPLICA, MAX_REPLICAS), rng.randrange(60), rng.randrange(60)
        ),
    }


def best_options() -> dict[str, dict[str, str]]:
    """The Kafka trigger options keda-best sets on each simulated trace, as a ScaledObject spells them."""
    return {t.name: keda.options(keda.best(t.name, LAG_PER_REPLICA, MAX_REPLICAS)) for t in traces()}


@dataclass(frozen=True)
class Summary:
    """One scaler on one trace: each metric's median, minimum and maximum over the runs."""

    trace: str
    scaler: str
    runs: int
    median: dict[str, float | None]
    low: dict[str, float | None]
    high: dict[str, float | None]


def summarize(trace: str, scaler: str, results: Sequence[Result]) -> Summary:
    median: dict[str, float | None] = {}
    low: dict[str, float | None] = {}
    high: dict[str, float | None] = {}
    for metric in METRICS:
        values = [getattr(r, metric) for r in results]
        # A run that never drained ranks above every drained one; the median says "never" if most did not.
        known = sorted(v for v in values if v is not None)
        if len(known) * 2 <= len(values):
            median[metric] = None
        else:
            ranked = [*known, *[float("inf")] * (len(values) - len(known))]
            median[metric] = statistics.median(ranked)
        low[metric] = known[0] if known else None
        high[metric] = None if len(known) < len(values) else known[-1]
    return Summary(trace, scaler, len(results), median, low, high)


def compare(world: World | None = None, runs: int = 30, seed: int = 20261201) -> list[Summary]:
    world = world or World()
    summaries = []
    for trace in traces():
        for name, make in contenders().items():
            rng = random.Random(f"{seed}-{trace.name}-{name}")
            summaries.append(summarize(trace.name, name, [run(trace, make(rng, trace), world) for _ in range(runs)]))
    return summaries


def as_json(summaries: Sequence[Summary], world: World) -> dict[str, Any]:
    return {
        "world": asdict(world),
        "traces": {t.name: t.description for t in traces()},
        "keda_best_options": best_options(),
        "results": [asdict(s) for s in summaries],
    }
