"""What the real bench reports (pure): the table of medians (min-max), the issue's goals against tuned KEDA,
and the JSON of every run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from devstack.scalerbench.compare import METRICS, Summary
from devstack.scalerbench.simulate import Result

AGAINST = "keda-tuned"


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


def goals(summaries: Sequence[Summary]) -> list[tuple[str, bool, str]]:
    """The issue's goals against tuned KEDA: (goal, met, figures)."""
    traces = list(dict.fromkeys(s.trace for s in summaries))

    def of(trace: str, metric: str) -> float:
        return ratio(_median(summaries, trace, "ours", metric), _median(summaries, trace, AGAINST, metric))

    def churn(trace: str, scaler: str) -> float:
        return sum(_median(summaries, trace, scaler, m) or 0.0 for m in ("scale_events", "rebalances"))

    found = []
    if "burst" in traces:
        burst = of("burst", "time_to_drain")
        found.append(("burst time to drain <= 0.5x", burst <= 0.5, f"{burst:.2f}x"))
    replicas = {t: of(t, "replica_seconds") for t in traces}
    found.append(
        (
            "replica-seconds <= 1.0x on every trace",
            all(r <= 1.0 for r in replicas.values()),
            ", ".join(f"{t} {r:.2f}x" for t, r in replicas.items()),
        )
    )
    moves = {t: ratio(churn(t, "ours"), churn(t, AGAINST)) for t in traces}
    found.append(
        (
            "scale events + rebalances <= 1.0x on every trace",
            all(m <= 1.0 for m in moves.values()),
            ", ".join(f"{t} {m:.2f}x" for t, m in moves.items()),
        )
    )
    swept = [t for t in traces if all(of(t, m) > 1.0 for m in METRICS)]
    found.append(("no trace where KEDA wins on every metric", not swept, ", ".join(swept) or "none"))
    return found


def as_json(summaries: Sequence[Summary], results: Sequence[Result], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        **meta,
        "summaries": [asdict(s) for s in summaries],
        "runs": [asdict(r) for r in results],
        "goals": [{"goal": goal, "met": met, "figures": figures} for goal, met, figures in goals(summaries)],
    }
