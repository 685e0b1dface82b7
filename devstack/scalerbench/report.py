"""What the real bench reports (pure): the table of medians (min-max), the issue's goals (the burst's drain against
the bound the pods allow; the rest against the best KEDA and, as before, tuned KEDA), and the JSON of every run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from devstack.scalerbench import keda
from devstack.scalerbench.compare import LAG_PER_REPLICA, METRICS, Summary
from devstack.scalerbench.simulate import Result
from devstack.scalerbench.traces import BURST_POD_SECONDS, PARTITIONS

# The goals are against the best KEDA; tuned KEDA stays for continuity with the earlier runs.
AGAINST = ("keda-tuned", "keda-best")


def _median(summaries: Sequence[Summary], trace: str, scaler: str, metric: str) -> float | None:
    return next(s.median[metric] for s in summaries if s.trace == trace and s.scaler == scaler)


def ratio(ours: float | None, theirs: float | None) -> float:
    """ours / theirs, where None is "never" (worse than any figure) and 0 / 0 is even."""
    if ours is None:
        return 1.0 if theirs is None else float("inf")
    if theirs is None:
        return 0.0
    if theirs == 0:
        return 1.0 if ours == 0 else float("inf")
    return ours / theirs


# No scaler drains the burst faster than every replica the partitions allow, each at its pods' rate.
DRAIN_BOUND = BURST_POD_SECONDS / PARTITIONS
DRAIN_SLACK = 1.15


def _times(factor: float) -> str:
    """Two decimals, or three where two would round a miss down to 1.00x."""
    return f"{factor:.3f}x" if 1.0 < factor < 1.005 else f"{factor:.2f}x"


def goals(summaries: Sequence[Summary]) -> list[tuple[str, bool, str]]:
    """The issue's goals, (goal, met, figures): the burst's drain against what the pods allow, then each goal
    against each of `AGAINST` that ran, naming its KEDA."""
    found = []
    if any(s.trace == "burst" and s.scaler == "ours" for s in summaries):
        drain = _median(summaries, "burst", "ours", "time_to_drain")
        met = drain is not None and drain <= DRAIN_SLACK * DRAIN_BOUND
        figures = f"{'never' if drain is None else f'{drain:g} s'} (bound {DRAIN_BOUND:g} s)"
        found.append((f"burst time to drain within {DRAIN_SLACK - 1:.0%} of the pods' bound", met, figures))
    ran = {s.scaler for s in summaries}
    return found + [
        (f"vs {against}: {goal}", met, figures)
        for against in AGAINST
        if against in ran
        for goal, met, figures in _goals(summaries, against)
    ]


def _goals(summaries: Sequence[Summary], against: str) -> list[tuple[str, bool, str]]:
    traces = list(dict.fromkeys(s.trace for s in summaries))

    def of(trace: str, metric: str) -> float:
        return ratio(_median(summaries, trace, "ours", metric), _median(summaries, trace, against, metric))

    def churn(trace: str, scaler: str) -> float:
        return sum(_median(summaries, trace, scaler, m) or 0.0 for m in ("scale_events", "rebalances"))

    drains = {t: of(t, "time_to_drain") for t in traces}
    found = [
        (
            "time to drain <= 1.0x on every trace",
            all(d <= 1.0 for d in drains.values()),
            ", ".join(f"{t} {_times(d)}" for t, d in drains.items()),
        )
    ]
    replicas = {t: of(t, "replica_seconds") for t in traces}
    found.append(
        (
            "replica-seconds <= 1.0x on every trace",
            all(r <= 1.0 for r in replicas.values()),
            ", ".join(f"{t} {_times(r)}" for t, r in replicas.items()),
        )
    )
    moves = {t: ratio(churn(t, "ours"), churn(t, against)) for t in traces}
    found.append(
        (
            "scale events + rebalances <= 1.0x on every trace",
            all(m <= 1.0 for m in moves.values()),
            ", ".join(f"{t} {_times(m)}" for t, m in moves.items()),
        )
    )
    swept = [t for t in traces if all(of(t, m) > 1.0 for m in METRICS)]
    found.append(("no trace where KEDA wins on every metric", not swept, ", ".join(swept) or "none"))
    return found


def best_options(summaries: Sequence[Summary]) -> dict[str, dict[str, str]]:
    """The Kafka trigger options keda-best ran with on each trace (none if it did not run)."""
    ran = list(dict.fromkeys(s.trace for s in summaries if s.scaler == "keda-best"))
    return {trace: keda.options(keda.best(trace, LAG_PER_REPLICA, PARTITIONS)) for trace in ran}


def as_json(summaries: Sequence[Summary], results: Sequence[Result], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        **meta,
        "keda_best_options": best_options(summaries),
        "summaries": [asdict(s) for s in summaries],
        "runs": [asdict(r) for r in results],
        "goals": [{"goal": goal, "met": met, "figures": figures} for goal, met, figures in goals(summaries)],
    }
