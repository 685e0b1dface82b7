"""`orderflow scaler compare`: our ConsumerScaler policy against KEDA's Kafka scaler, on simulated traces."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from operators.scaler.compare import LAG_PER_REPLICA, MAX_REPLICAS, as_json, compare
from operators.scaler.simulate import World, traces

app = typer.Typer(help="The Kafka lag autoscaler (ConsumerScaler).", no_args_is_help=True)
console = Console(width=140)


@app.command("compare")
def compare_command(as_json_: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False) -> None:
    """Replay a burst, a ramp, a sine and an idle group with a stuck partition through both scalers."""
    world = World()
    results = compare(world)
    if as_json_:
        typer.echo(json.dumps(as_json(results, world), indent=2))
        return
    console.print(
        f"{world.partitions} partitions, {world.capacity:.0f} records/s per replica, {world.startup_seconds} s pod "
        f"start, {world.rebalance_seconds} s rebalance per change; both: lag {LAG_PER_REPLICA}/replica, "
        f"max {MAX_REPLICAS}, from {world.initial_replicas} replica"
    )
    table = Table(title="ConsumerScaler (ours) vs KEDA Kafka scaler through an HPA")
    for column in ("trace", "scaler", "time to drain (s)", "peak lag", "replica-seconds", "scale events"):
        table.add_column(column, justify="left" if column in ("trace", "scaler") else "right")
    for result in results:
        drain = "never" if result.time_to_drain is None else str(result.time_to_drain)
        table.add_row(
            result.trace,
            result.scaler,
            drain,
            f"{result.peak_lag:,}",
            f"{result.replica_seconds:,}",
            str(result.scale_events),
            end_section=result.scaler != "ours",
        )
    console.print(table)
    for trace in traces():
        console.print(f"  {trace.name}: {trace.description}")
