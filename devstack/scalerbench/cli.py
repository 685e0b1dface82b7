"""`orderflow scaler bench` (devstack's addition to `orderflow scaler`): the real side-by-side on the local cluster."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from devstack.cluster.cli import FAILURES, StateDir, require_cluster
from devstack.cluster.platform import InstallError
from devstack.scalerbench import report
from devstack.scalerbench.comparecli import summary_table
from devstack.scalerbench.run import CONTENDERS
from devstack.scalerbench.run import bench as run_bench
from devstack.scalerbench.traces import PARTITIONS, traces
from orderflow.localstate import local_state_dir

console = Console(width=170)


def bench(
    quick: Annotated[bool, typer.Option("--quick", help="One run of burst and ramp, four minutes each")] = False,
    runs: Annotated[int | None, typer.Option(min=1, help="Runs of every trace (default: 3; --quick: 1)")] = None,
    rate: Annotated[float, typer.Option(min=1, help="Records/s one consumer pod handles")] = 50.0,
    seed: Annotated[int, typer.Option(help="Seed of the random phases")] = 20261204,
    only: Annotated[
        list[str] | None, typer.Option("--trace", help="Only this trace (repeat for more) [default: all]")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="JSON of every run [default: .orderflow/scaler-bench.json]")
    ] = None,
    state_dir: StateDir = None,
) -> None:
    """Ours (ConsumerScaler), KEDA with its defaults, KEDA tuned and KEDA at its best (per trace) scale the same
    consumer pods, fed the same traces at once, on the local kind cluster (`orderflow k8s up`); medians (min-max)
    over the runs."""
    available = traces(quick)
    unknown = sorted(set(only or ()) - {t.name for t in available})
    if unknown:
        names = ", ".join(t.name for t in available)
        raise typer.BadParameter(f"no trace {', '.join(unknown)}; choose from {names}", param_hint="--trace")
    chosen = [t for t in available if not only or t.name in only]
    cluster = require_cluster(state_dir)
    count = runs or (1 if quick else 3)
    started = time.monotonic()
    try:
        summaries, results = run_bench(cluster, chosen, count, rate, seed, log=lambda line: console.print(line))
    except (*FAILURES, InstallError, TimeoutError) as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from error
    took = time.monotonic() - started
    meta = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(took),
        "runs_per_trace": count,
        "rate_per_pod": rate,
        "partitions": PARTITIONS,
        "contenders": list(CONTENDERS),
        "traces": {t.name: t.description for t in chosen},
    }
    target = output or local_state_dir() / "scaler-bench.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report.as_json(summaries, results, meta), indent=2) + "\n")
    console.print(
        f"{PARTITIONS} partitions, {rate:.0f} records/s per pod, {count} run(s) per trace at random phases, "
        f"median (min-max); {took / 60:.0f} min in all"
    )
    console.print(summary_table(summaries, "ConsumerScaler (ours) vs KEDA's Kafka scaler through the HPA (real pods)"))
    for trace in chosen:
        console.print(f"  {trace.name}: {trace.description}")
    for goal, met, figures in report.goals(summaries):
        console.print(f"  {'met' if met else 'MISSED'}: {goal} ({figures})")
    console.print(f"Figures written to {target}")
