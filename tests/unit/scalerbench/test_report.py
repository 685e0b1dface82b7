"""The real bench's report: goals against tuned and best KEDA and the JSON."""

from __future__ import annotations

from devstack.scalerbench.compare import summarize
from devstack.scalerbench.report import as_json, goals
from devstack.scalerbench.simulate import Result


def _runs(scaler: str, drains: list[int | None], replica_seconds: int, moves: int, peak: int = 1000) -> list[Result]:
    return [Result("burst", scaler, d, peak, replica_seconds, moves, moves) for d in drains]


def _goals(ours: list[Result], tuned: list[Result]) -> dict[str, tuple[bool, str]]:
    """The goals against tuned KEDA, by their names without the "vs keda-tuned: " they carry."""
    summaries = [summarize("burst", "ours", ours), summarize("burst", "keda-tuned", tuned)]
    found = {goal: (met, figures) for goal, met, figures in goals(summaries)}
    bound = "burst time to drain within 15% of the pods' bound"
    # keda-best did not run: no goals against it
    assert all(goal.startswith("vs keda-tuned: ") for goal in found if goal != bound)
    return {goal.removeprefix("vs keda-tuned: "): value for goal, value in found.items()}


def test_the_json_keeps_the_run_count_beside_every_run() -> None:
    ours, tuned = _runs("ours", [10, 12], 900, 2), _runs("keda-tuned", [30, 30], 1000, 1)
    summaries = [summarize("burst", "ours", ours), summarize("burst", "keda-tuned", tuned)]
    written = as_json(summaries, [*ours, *tuned], {"runs_per_trace": 2})
    assert written["runs_per_trace"] == 2
    assert [r["scaler"] for r in written["runs"]] == ["ours", "ours", "keda-tuned", "keda-tuned"]
    assert written["summaries"][0]["median"]["time_to_drain"] == 11


def test_goals_report_a_miss_as_a_miss() -> None:
    ours, tuned = _runs("ours", [10, 12], 900, 2), _runs("keda-tuned", [30, 30], 1000, 1)
    found = _goals(ours, tuned)
    # 300 pod-seconds of records, 12 replicas: 25 s at best; 11 s is within it, against 30 s of tuned KEDA.
    assert found["burst time to drain within 15% of the pods' bound"] == (True, "11 s (bound 25 s)")
    assert found["time to drain <= 1.0x on every trace"] == (True, "burst 0.37x")
    assert found["replica-seconds <= 1.0x on every trace"] == (True, "burst 0.90x")
    assert found["scale events + rebalances <= 1.0x on every trace"] == (False, "burst 2.00x")
    assert found["no trace where KEDA wins on every metric"] == (True, "none")


def test_never_draining_is_worse_than_any_drain() -> None:
    ours, tuned = _runs("ours", [None, None], 2000, 4, peak=3000), _runs("keda-tuned", [30, 30], 1000, 1)
    found = _goals(ours, tuned)
    assert found["burst time to drain within 15% of the pods' bound"] == (False, "never (bound 25 s)")
    assert found["time to drain <= 1.0x on every trace"] == (False, "burst infx")
    assert found["no trace where KEDA wins on every metric"] == (False, "burst")


def test_a_drain_slower_than_the_pods_allow_or_a_hair_slower_than_keda_is_a_miss() -> None:
    ours, best = _runs("ours", [30, 30], 900, 1), _runs("keda-best", [29, 29], 1000, 1)
    summaries = [summarize("burst", "ours", ours), summarize("burst", "keda-best", best)]
    found = {goal: (met, figures) for goal, met, figures in goals(summaries)}
    assert found["burst time to drain within 15% of the pods' bound"] == (False, "30 s (bound 25 s)")
    assert found["vs keda-best: time to drain <= 1.0x on every trace"] == (False, "burst 1.03x")
    hair = [
        summarize("burst", "ours", _runs("ours", [1001], 1, 1)),
        summarize("burst", "keda-best", _runs("keda-best", [1000], 1, 1)),
    ]
    assert (
        dict((g, f) for g, _, f in goals(hair))["vs keda-best: time to drain <= 1.0x on every trace"] == "burst 1.001x"
    )


def test_the_json_names_the_options_keda_best_ran_with() -> None:
    best = [Result("hot-partition", "keda-best", None, 1000, 900, 1, 1)]
    ours = [Result("hot-partition", "ours", None, 1000, 900, 1, 1)]
    summaries = [summarize("hot-partition", "ours", ours), summarize("hot-partition", "keda-best", best)]
    written = as_json(summaries, [*ours, *best], {})
    assert written["keda_best_options"] == {"hot-partition": {"limitToPartitionsWithLag": "true"}}
    assert written["goals"][1]["goal"] == "vs keda-best: replica-seconds <= 1.0x on every trace"
    assert as_json(summaries[:1], ours, {})["keda_best_options"] == {}
