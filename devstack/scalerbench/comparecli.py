"""`orderflow scaler compare` (devstack's addition to `orderflow scaler`): our ConsumerScaler policy against a
model of KEDA's Kafka scaler and the HPA, on simulated traces.

A quick, deterministic check; `orderflow scaler bench` (cli.py) measures the real binaries on real pods and
prints its figures with the same table.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from devstack.scalerbench.compare import (
    LAG_PER_REPLICA,
    MAX_REPLICAS,
    METRICS,
    Summary,
    as_json,
    best_options,
    compare,
)
from devstack.scalerbench.simulate import World, traces

console = Console(width=160)


def _cell(summary: Summary, metric: str) -> str:
    median, low, high = summary.median[metric], summary.low[metric], summary.high[metric]
    if median is None:
        return "never"
    spread = f" ({low:,.0f}-{'never' if high is None else f'{high:,.0f}'})" if low is not None else ""
    return f"{median:,.0f}{spread}"


def summary_table(summaries: list[Summary], title: str) -> Table:
    """Each trace and scaler with each metric's median (min-max over the runs)."""
    table = Table(title=title)
    table.add_column("trace")
    table.add_column("scaler")
    for metric in METRICS:
        table.add_column(metric.replace("_", " "), justify="right")
    for index, summary in enumerate(summaries):
        last = index + 1 == len(summaries) or summaries[index + 1].trace != summary.trace
        table.add_row(summary.trace, summary.scaler, *(_cell(summary, m) for m in METRICS), end_section=last)
    return table


def options_table(options: dict[str, dict[str, str]]) -> Table:
    """The Kafka trigger options keda-best adds to keda-tuned on each trace."""
    table = Table(title="keda-best: keda-tuned plus these options of KEDA v2.21.0's Kafka trigger")
    table.add_column("trace")
    table.add_column("trigger metadata")
    for trace, set_ in options.items():
        table.add_row(trace, ", ".join(f'{key}: "{value}"' for key, value in set_.items()) or "none")
    return table


def compare_command(
    runs: Annotated[int, typer.Option(min=1, help="Runs per trace and scaler, at random phases")] = 30,
    as_json_: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Replay each trace through ours, KEDA with its defaults, KEDA tuned and KEDA at its best (tuned plus the
    Kafka trigger's options for that trace); medians (min-max) over the runs."""
    world = World()
    summaries = compare(world, runs=runs)
    if as_json_:
        typer.echo(json.dumps(as_json(summaries, world), indent=2))
        return
    console.print(
        f"{world.partitions} partitions, {world.capacity:.0f} records/s per replica, {world.startup_seconds} s pod "
        f"start, {world.rebalance_seconds} s rebalance per membership change; all: lag {LAG_PER_REPLICA}/replica, "
        f"max {MAX_REPLICAS}; {runs} runs at random phases, median (min-max)"
    )
    console.print(summary_table(summaries, "ConsumerScaler (ours) vs KEDA's Kafka scaler through the HPA (simulated)"))
    for trace in traces():
        console.print(f"  {trace.name}: {trace.description}")
    console.print(options_table(best_options()))
