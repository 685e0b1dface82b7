"""`orderflow scaler`: the Kafka lag autoscaler's development commands, added by the dev tools (the operations
CLI image has none of them).

Its commands are the `orderflow.scaler.commands` entry points, imported only when run: `compare` (the simulation
against a model of KEDA) needs no cluster code, `bench` (the real binaries on real pods) does.
"""

from __future__ import annotations

import typer

from orderflow.cli import LazyCommands


class ScalerCommands(LazyCommands):
    plugins = "orderflow.scaler.commands"


app = typer.Typer(cls=ScalerCommands, help="The Kafka lag autoscaler (ConsumerScaler).", no_args_is_help=True)
