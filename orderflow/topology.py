"""`orderflow topology export|check`: the chart's copy of the event topology, derived from `eventkit.topology`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from eventkit.topology import chart_document

app = typer.Typer(help="The event topology the Helm chart renders its topics, ACLs and scalers from.")

CHART_FILE = Path(__file__).resolve().parents[1] / "charts" / "orderflow" / "topology.yaml"
_HEADER = (
    "# Generated from eventkit/topology.py by `orderflow topology export`; do not edit.\n"
    "# `orderflow topology check` (part of `make lint`) fails while this copy is stale.\n"
)
FileOption = Annotated[Path, typer.Option("--file", dir_okay=False, help="The chart's topology file")]


def rendered() -> str:
    return _HEADER + yaml.safe_dump(chart_document(), sort_keys=True)


@app.command()
def export(file: FileOption = CHART_FILE) -> None:
    """Write the chart's topology file."""
    file.write_text(rendered())
    typer.echo(f"wrote {file}")


@app.command()
def check(file: FileOption = CHART_FILE) -> None:
    """Fail when the chart's topology file differs from eventkit.topology."""
    current = file.read_text() if file.exists() else ""
    if current != rendered():
        typer.echo(f"{file} is stale: run `orderflow topology export`", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: {file.name} matches eventkit.topology")
